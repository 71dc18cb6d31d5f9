"""Debian's nginx as a test static server: an unprivileged process with its own temporary config on
127.0.0.1 and a free port, the site's headers and MIME types (from build.py), and an access log of every
request with its Range header and the bytes sent. Falls back to build.py's server (no access log of
bytes: byte checks are skipped) when nginx is not installed."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

NGINX = Path("/usr/sbin/nginx")
LOG_FORMAT = "'$request_method $uri $status $body_bytes_sent \"$http_range\"'"


@dataclass
class LogLine:
    method: str
    path: str
    status: int
    bytes: int
    range: str


class NginxServer:
    def __init__(self, site: Path, headers: dict[str, str], mime: dict[str, str], *, ranges: bool = True):
        self.site = site
        self.tmp = Path(tempfile.mkdtemp(prefix="smlens-nginx-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.access_log = self.tmp / "access.log"
        types = "\n".join(f"    {v.split(';')[0]} {k.lstrip('.')};" for k, v in mime.items())
        add = "\n".join(f"      add_header {k} \"{v}\" always;" for k, v in headers.items())
        conf = f"""
worker_processes 1;
daemon off;
pid {self.tmp}/nginx.pid;
error_log {self.tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
  types {{
{types}
  }}
  default_type application/octet-stream;
  charset utf-8;
  charset_types text/javascript text/css application/json text/plain;
  log_format smlens {LOG_FORMAT};
  access_log {self.access_log} smlens;
  client_body_temp_path {self.tmp}/body;
  proxy_temp_path {self.tmp}/proxy;
  fastcgi_temp_path {self.tmp}/fastcgi;
  uwsgi_temp_path {self.tmp}/uwsgi;
  scgi_temp_path {self.tmp}/scgi;
  sendfile on;
  etag on;
  {"" if ranges else "max_ranges 0;"}
  server {{
    listen 127.0.0.1:{self.port};
    root {site};
    autoindex off;
    location / {{
{add}
      index index.html;
      try_files $uri $uri/ =404;
    }}
  }}
}}
"""
        (self.tmp / "nginx.conf").write_text(conf)
        cmd = [str(NGINX), "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf")]
        if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("setpriv"):
            # never run the test server as root: drop to nobody (the site and temp dir must be readable)
            _open_up(self.tmp, writable=True)
            _open_up(site)
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self._wait()
        except BaseException:
            self.shutdown()
            raise

    def _wait(self) -> None:
        deadline = time.time() + 20
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read().decode(errors='replace')}"
                                   f"{(self.tmp / 'error.log').read_text() if (self.tmp / 'error.log').exists() else ''}")
            try:
                urllib.request.urlopen(self.url + "index.html", timeout=2).read()
                return
            except OSError as e:
                last = e
                time.sleep(0.1)
        raise RuntimeError(f"nginx did not serve {self.url}index.html within 20 s ({last})")

    def log(self) -> list[LogLine]:
        out = []
        for line in self.access_log.read_text().splitlines():
            parts = line.split(" ", 4)
            if len(parts) == 5:
                out.append(LogLine(parts[0], parts[1], int(parts[2]), int(parts[3]), parts[4].strip('"').strip("-")))
        return out

    def mark(self) -> int:
        """The number of log lines so far: pass to since() to get what came after."""
        return len(self.log())

    def since(self, mark: int) -> list[LogLine]:
        return self.log()[mark:]

    def shutdown(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _open_up(path: Path, writable: bool = False) -> None:
    """World-readable so that the unprivileged server can read it (callers keep it under a fresh temp dir)."""
    mode_dir, mode_file = (0o777, 0o666) if writable else (0o755, 0o644)
    for p in [path, *path.rglob("*")]:
        try:
            os.chmod(p, mode_dir if p.is_dir() else mode_file)
        except OSError:
            pass


def available() -> str | None:
    """None when nginx can be used, else why not."""
    return None if NGINX.exists() else f"{NGINX} is not installed (python build.py test installs it as root)"
