"""Backend registry and placement: a fake device backend (DeviceTensors wrapping arrays) proves that
uploads, downloads and frees are placed where a value changes backend, and results match NumPy."""
from __future__ import annotations

import numpy as np
import pytest

from smlens.backends import registry
from smlens.backends.base import DeviceTensor, PreparedKernel, StepSpec
from smlens.backends.numpy_backend import NUMPY
from smlens.runtime.options import CompileOptions
from smlens.runtime.plan import compile_signature
from test_runtime import F32, const, model, node, open_model, placeholder, sig

pytestmark = pytest.mark.pyodide


class FakeDevice:
    """A device backend running the NumPy kernels of `ops` on arrays it holds behind DeviceTensors."""

    host = False

    def __init__(self, name: str, ops: set):
        self.name = name
        self.ops = ops
        self.live: set = set()
        self.log: list = []
        self.specs: list = []

    def _wrap(self, a):
        t = DeviceTensor(self, np.asarray(a), np.shape(a), np.asarray(a).dtype)
        self.live.add(id(t))
        return t

    def _unwrap(self, t):
        assert isinstance(t, DeviceTensor) and t.backend is self, f"{self.name} got {type(t).__name__}"
        assert id(t) in self.live, "use after free"
        return t.handle

    def kernel(self, spec: StepSpec):
        if spec.op not in self.ops:
            return None
        self.specs.append(spec)
        ref = NUMPY.kernel(spec).fn

        def fn(*args):
            self.log.append(("run", spec.op))
            return self._wrap(ref(*[self._unwrap(a) for a in args]))
        return PreparedKernel(fn)

    def upload(self, array):
        assert isinstance(array, np.ndarray)
        self.log.append(("upload", array.shape))
        return self._wrap(array)

    def download(self, tensor):
        self.log.append(("download", tensor.shape))
        return np.array(self._unwrap(tensor))

    def free(self, tensor):
        self._unwrap(tensor)
        self.live.discard(id(tensor))
        self.log.append(("free", tensor.shape))


@pytest.fixture
def device():
    d = FakeDevice("fakedev", {"Mul", "AddV2", "Tanh"})
    registry.register(d)
    yield d
    registry.unregister("fakedev")
    registry.set_preference(None)


def _graph():
    # y = tanh(relu(x * c) + c2) ; relu stays on the host (the fake device declines it)
    nodes = [placeholder("x", F32, (2, 3)),
             const("c", np.full((2, 3), 2.0, np.float32)), const("c2", np.float32(0.5)),
             node("m", "Mul", "x", "c", T=F32), node("r", "Relu", "m", T=F32),
             node("a", "AddV2", "r", "c2", T=F32), node("t", "Tanh", "a", T=F32)]
    return model(nodes, {"s": sig({"x": ("x:0", F32, (2, 3))}, {"y": ("t:0", F32)})})


def _expected(x):
    return np.tanh(np.maximum(x * 2, 0) + np.float32(0.5))


def test_transfers_and_frees_are_placed(device):
    x = np.array([[1, -2, 3], [-4, 5, 6]], np.float32)
    s = open_model(_graph()).meta_graph().signatures["s"]
    plan = compile_signature(s, CompileOptions(backends=("fakedev",)))
    backends = [i.backend for i in plan.program.infos]
    ops = [i.op for i in plan.program.infos]
    assert ("Relu", "numpy") in zip(ops, backends)
    assert ("Mul", "fakedev") in zip(ops, backends) and ("Tanh", "fakedev") in zip(ops, backends)
    assert ops.count("upload") == 2 and ops.count("download") == 2   # x, relu result / mul result, output
    device.log.clear()
    y = plan.run({"x": x})["y"]
    np.testing.assert_allclose(y, _expected(x), rtol=1e-6)
    assert not device.live - _plan_constants(device, plan), "every runtime device tensor was freed"
    kinds = [k for k, _ in device.log]
    assert kinds.count("free") == kinds.count("upload") + kinds.count("run") - 0


def _plan_constants(device, plan) -> set:
    return {id(v) for v in plan.program.template if isinstance(v, DeviceTensor)}


def test_device_kernel_gets_static_info_and_constants(device):
    s = open_model(_graph()).meta_graph().signatures["s"]
    compile_signature(s, CompileOptions(backends=("fakedev",)))
    mul = next(sp for sp in device.specs if sp.op == "Mul")
    assert mul.in_dtypes[0] == np.float32 and 1 in mul.consts and mul.consts[1].shape == (2, 3)
    assert mul.attrs["T"].name == "float32"


def test_registry_preference_and_env(device, monkeypatch):
    registry.set_preference(None)
    monkeypatch.setenv(registry.ENV_VAR, "nosuch, fakedev")
    assert [b.name for b in registry.resolve()] == ["fakedev", "numpy"]
    registry.set_preference(["numpy", "fakedev"])
    assert [b.name for b in registry.resolve()] == ["numpy", "fakedev"]
    x = np.ones((2, 3), np.float32)
    s = open_model(_graph()).meta_graph().signatures["s"]
    assert {i.backend for i in s.plan().program.infos} == {"numpy"}    # numpy first takes everything
    np.testing.assert_allclose(s(x=x)["y"], _expected(x), rtol=1e-6)
    registry.set_preference(["fakedev"])
    s2 = open_model(_graph()).meta_graph().signatures["s"]
    assert "fakedev" in {i.backend for i in s2.plan().program.infos}
    np.testing.assert_allclose(s2(x=x)["y"], _expected(x), rtol=1e-6)


def test_device_tensor_refuses_numpy_conversion(device):
    t = device.upload(np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="downloaded explicitly"):
        np.asarray(t)


def test_numpy_cannot_be_unregistered():
    with pytest.raises(ValueError):
        registry.unregister("numpy")
