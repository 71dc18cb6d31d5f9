"""Audio kernels: DecodeWav / EncodeWav (16-bit PCM RIFF WAVE) and the speech-commands front end,
AudioSpectrogram and Mfcc, as TensorFlow computes them (tensorflow/core/kernels/spectrogram*.cc, mfcc*.cc):

- AudioSpectrogram: per channel, frames of `window_size` samples every `stride` samples, times a periodic
  Hann window, zero-padded to the next power of two, |FFT|^2 (or |FFT|) in double precision.
- Mfcc: a mel filterbank of triangular bands on sqrt(power) (HTK style: DC and bins outside the limits
  unused, mel = 1127 ln(1 + f/700)), the log (floored at 1e-12), then a DCT-II with sqrt(2/N) scaling.
"""
from __future__ import annotations

import struct

import numpy as np

from ..errors import ExecutionError
from .registry import REQUIRED, op

MAX_WAV_CHANNELS = 1 << 16
_SKIPPED_BEFORE_FMT = {b"JUNK", b"bext", b"iXML", b"qlty", b"mext", b"levl", b"link", b"axml"}


def _scalar_bytes(x, what: str, name: str) -> bytes:
    a = np.asarray(x)
    if a.ndim != 0:
        raise ExecutionError(f"{what}: {name} must be a scalar, got shape {list(a.shape)}")
    v = a[()]
    return v if isinstance(v, bytes) else str(v).encode("utf-8")


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ExecutionError("DecodeWav: Data too short when trying to read string")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]


def _decode_wav(data: bytes) -> tuple[np.ndarray, int, int]:
    """(int16 samples [frames * channels], channels, sample rate) of a 16-bit PCM WAV file."""
    r = _Reader(data)
    for expected in (b"RIFF", None, b"WAVE"):
        if expected is None:
            r.u32()
            continue
        found = r.take(4)
        if found != expected:
            raise ExecutionError(f"DecodeWav: Header mismatch: Expected {expected.decode()} but found "
                                 f"{found.decode('latin-1')}")
    chunk = r.take(4)
    while chunk != b"fmt ":
        if chunk not in _SKIPPED_BEFORE_FMT:
            raise ExecutionError(f"DecodeWav: Unexpected field {chunk.decode('latin-1')}")
        r.take(r.u32())
        chunk = r.take(4)
    fmt_size = r.u32()
    if fmt_size not in (16, 18):
        raise ExecutionError(f"DecodeWav: Bad format chunk size for WAV: Expected 16 or 18, but got {fmt_size}")
    audio_format, channels, rate, bytes_per_second, block_align, bits = (r.u16(), r.u16(), r.u32(), r.u32(),
                                                                         r.u16(), r.u16())
    if audio_format != 1:
        raise ExecutionError(f"DecodeWav: Bad audio format for WAV: Expected 1 (PCM), but got {audio_format}")
    if channels < 1:
        raise ExecutionError(f"DecodeWav: Bad number of channels for WAV: Expected at least 1, but got {channels}")
    if bits != 16:
        raise ExecutionError(f"DecodeWav: Can only read 16-bit WAV files, but received {bits}")
    if block_align != (bits * channels + 7) // 8:
        raise ExecutionError(f"DecodeWav: Bad bytes per sample in WAV header: Expected "
                             f"{(bits * channels + 7) // 8} but got {block_align}")
    if bytes_per_second != (block_align * rate) & 0xFFFFFFFF:
        raise ExecutionError(f"DecodeWav: Bad bytes per second in WAV header: Expected {block_align * rate} but "
                             f"got {bytes_per_second}")
    if fmt_size == 18:
        r.pos += 2
    samples = None
    while r.pos < len(data):
        chunk_id, size = r.take(4), r.u32()
        if size > 0x7FFFFFFF:
            raise ExecutionError(f"DecodeWav: WAV data chunk {chunk_id!r} is too large: {size} bytes")
        if chunk_id == b"data":
            if samples is not None:
                raise ExecutionError("DecodeWav: More than one data chunk found in WAV")
            frames = size // block_align
            samples = np.frombuffer(r.take(2 * frames * channels), dtype="<i2")
        else:
            r.pos += size
    if samples is None:
        raise ExecutionError("DecodeWav: No data chunk found in WAV")
    return samples, channels, rate


@op("DecodeWav", inputs=["contents"], attrs={"desired_channels": -1, "desired_samples": -1})
def decode_wav(contents, *, desired_channels, desired_samples):
    samples, channels, rate = _decode_wav(_scalar_bytes(contents, "DecodeWav", "contents"))
    frames = samples.size // channels
    audio = samples.reshape(frames, channels).astype(np.float32) * np.float32(1.0 / 32768)
    out_channels = channels if desired_channels == -1 else desired_channels
    out_frames = frames if desired_samples == -1 else desired_samples
    if out_channels < 1 or out_channels > MAX_WAV_CHANNELS or out_frames < 0:
        raise ExecutionError(f"DecodeWav: invalid desired_channels {desired_channels} or desired_samples "
                             f"{desired_samples}")
    src = np.minimum(np.arange(out_channels), channels - 1)   # extra channels repeat the last one
    out = np.zeros((out_frames, out_channels), dtype=np.float32)
    n = min(out_frames, frames)
    out[:n] = audio[:n][:, src]
    return out, np.array(rate, dtype=np.int32)


@op("EncodeWav", inputs=["audio", "sample_rate"])
def encode_wav(audio, sample_rate):
    a = np.asarray(audio)
    rate = np.asarray(sample_rate)
    if a.ndim != 2:
        raise ExecutionError(f"EncodeWav: audio must be 2-dimensional, got shape {list(a.shape)}")
    if rate.ndim != 0:
        raise ExecutionError(f"EncodeWav: Input 'sample_rate' should be a scalar, got shape {list(rate.shape)}")
    frames, channels = a.shape
    rate = int(rate)
    if not 0 < rate < (1 << 32):
        raise ExecutionError(f"EncodeWav: sample_rate must be in (0, 2^32), got: {rate}")
    if not 0 < channels < (1 << 16):
        raise ExecutionError(f"EncodeWav: num_channels must be in (0, 2^16), got: {channels}")
    data_size = frames * channels * 2
    if 44 + data_size > 0xFFFFFFFF:
        raise ExecutionError("EncodeWav: Provided channels and frames cannot be encoded as a WAV.")
    scaled = a.astype(np.float32) * np.float32(32768.0)
    pcm = np.clip(np.trunc(scaled + np.copysign(np.float32(0.5), scaled)), -32768, 32767).astype("<i2")
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_size, b"WAVE", b"fmt ", 16, 1, channels, rate,
                         rate * 2 * channels, 2 * channels, 16, b"data", data_size)
    out = np.empty((), dtype=object)
    out[()] = header + pcm.tobytes()
    return out


# --------------------------------------------------------------------------- spectrogram and MFCC

def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


@op("AudioSpectrogram", inputs=["input"],
    attrs={"window_size": REQUIRED, "stride": REQUIRED, "magnitude_squared": False})
def audio_spectrogram(input, *, window_size, stride, magnitude_squared):
    x = np.asarray(input)
    if x.ndim != 2:
        raise ExecutionError(f"AudioSpectrogram: input must be 2-dimensional, got shape {list(x.shape)}")
    if window_size < 2 or stride < 1:
        raise ExecutionError(f"AudioSpectrogram: Spectrogram initialization failed for window size {window_size} "
                             f"and stride {stride}")
    samples, channels = x.shape
    fft_length = _next_pow2(window_size)
    bins = fft_length // 2 + 1
    frames = 0 if samples < window_size else 1 + (samples - window_size) // stride
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window_size) / window_size)
    starts = np.arange(frames) * stride
    out = np.empty((channels, frames, bins), dtype=np.float32)
    for c in range(channels):
        signal = x[:, c].astype(np.float64)
        chunks = signal[starts[:, None] + np.arange(window_size)] if frames else np.zeros((0, window_size))
        spec = np.fft.rfft(chunks * window, n=fft_length, axis=-1)
        power = spec.real * spec.real + spec.imag * spec.imag
        out[c] = power if magnitude_squared else np.sqrt(power)
    return out


def _mel(freq):
    return 1127.0 * np.log1p(np.asarray(freq, dtype=np.float64) / 700.0)


def _mel_filterbank(input_length: int, sample_rate: float, channels: int, lower: float, upper: float):
    """(start bin, end bin, band of each bin (-1: left of the first band), weight of each bin)."""
    mel_low, mel_hi = float(_mel(lower)), float(_mel(upper))
    spacing = (mel_hi - mel_low) / (channels + 1)
    centers = mel_low + spacing * np.arange(1, channels + 2)
    hz_per_bin = 0.5 * sample_rate / (input_length - 1)
    start = int(1.5 + lower / hz_per_bin)
    end = int(upper / hz_per_bin)
    band = np.full(input_length, -2, dtype=np.int64)
    weight = np.zeros(input_length, dtype=np.float64)
    channel = 0
    for i in range(input_length):
        if i < start or i > end:
            continue
        melf = float(_mel(i * hz_per_bin))
        while channel < channels and centers[channel] < melf:
            channel += 1
        band[i] = channel - 1
        if band[i] >= 0:
            weight[i] = (centers[band[i] + 1] - melf) / (centers[band[i] + 1] - centers[band[i]])
        else:
            weight[i] = (centers[0] - melf) / (centers[0] - mel_low)
    return start, end, band, weight


@op("Mfcc", inputs=["spectrogram", "sample_rate"],
    attrs={"upper_frequency_limit": 4000.0, "lower_frequency_limit": 20.0, "filterbank_channel_count": 40,
           "dct_coefficient_count": 13})
def mfcc(spectrogram, sample_rate, *, upper_frequency_limit, lower_frequency_limit, filterbank_channel_count,
         dct_coefficient_count):
    spec = np.asarray(spectrogram)
    rate = np.asarray(sample_rate)
    if spec.ndim != 3:
        raise ExecutionError(f"Mfcc: spectrogram must be 3-dimensional, got shape {list(spec.shape)}")
    if rate.ndim != 0:
        raise ExecutionError(f"Mfcc: Input sample_rate should be a scalar tensor, got shape {list(rate.shape)}")
    channels, frames, bins = spec.shape
    rate = int(rate)
    lower, upper = float(np.float32(lower_frequency_limit)), float(np.float32(upper_frequency_limit))
    if (filterbank_channel_count < 1 or rate <= 0 or bins < 2 or lower < 0 or upper <= lower
            or dct_coefficient_count < 1):
        raise ExecutionError(f"Mfcc: Mfcc initialization failed for channel count {bins}, sample rate {rate} and "
                             f"filterbank_channel_count {filterbank_channel_count}")
    start, end, band, weight = _mel_filterbank(bins, rate, filterbank_channel_count, lower, upper)
    n = filterbank_channel_count
    # dense matrices of the filterbank's right (downward) and left (upward) triangle sides
    used = np.arange(bins)[(np.arange(bins) >= start) & (np.arange(bins) <= end)]
    right = np.zeros((bins, n))
    left = np.zeros((bins, n))
    for i in used:
        if band[i] >= 0:
            right[i, band[i]] = weight[i]
        if band[i] + 1 < n:
            left[i, band[i] + 1] = 1.0 - weight[i]
    mag = np.sqrt(spec.astype(np.float64))
    energies = mag @ right + mag @ left
    logs = np.log(np.maximum(energies, 1e-12))
    k = np.arange(dct_coefficient_count)[:, None]
    j = np.arange(n)[None, :]
    cosines = np.sqrt(2.0 / n) * np.cos(k * (np.pi / n) * (j + 0.5))
    return (logs @ cosines.T).astype(np.float32)
