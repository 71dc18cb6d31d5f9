// Test tier 2: the core's tests marked `pyodide`, run inside Pyodide 0.27.7 in Node 20.
//
//   node tests/pyodide/run.mjs [pytest args...]      (after `python build.py build`)
//
// Loads the runtime and the smlens wheel exactly as the built site ships them (dist/site/pyodide:
// its pyodide-lock.json must resolve numpy and protobuf by name), installs pytest and its
// pure-Python dependencies from .cache/pyodide-test-wheels (never part of the site), mounts the
// checkout at its own path with NODEFS and runs pytest.main. The exit code is pytest's.
// The shared data (../shared beside the checkout, or $SMLENS_SHARED) is mounted too, at its own path,
// when it is there, so the big cases (MobileNetV2, big_sharded_vars) run in Pyodide as well.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const site = path.resolve(process.env.SMLENS_SITE_DIR ?? path.join(root, "dist", "site"));
const indexURL = path.join(site, "pyodide") + path.sep;
const testWheelDir = path.join(root, ".cache", "pyodide-test-wheels");
const sharedDir = path.resolve(process.env.SMLENS_SHARED || path.join(root, "..", "shared"));
const hasShared = existsSync(sharedDir) && statSync(sharedDir).isDirectory();

function fail(message) {
  console.error(`tests/pyodide/run.mjs: ${message}`);
  process.exit(2);
}

if (!existsSync(path.join(indexURL, "pyodide.mjs"))) {
  fail(`no Pyodide runtime in ${indexURL}: run \`python build.py build\` first`);
}
const testWheels = existsSync(testWheelDir)
  ? readdirSync(testWheelDir).filter((f) => f.endsWith(".whl")).sort()
  : [];
if (!testWheels.some((f) => f.startsWith("pytest-"))) {
  fail(`no pytest wheel in ${testWheelDir}: \`python build.py test\` downloads it`);
}

const t0 = performance.now();
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
// The wasm kernel module shares Pyodide's memory, as in the page (web/worker.js): tests/test_wasm_*.py.
const bridge = await import(pathToFileURL(path.join(site, "kernels", "wasm", "bridge.js")).href);
const wasmMemory = bridge.captureMemory();
const pyodideEnv = { PYTHONHASHSEED: "0", ...(hasShared ? { SMLENS_SHARED: sharedDir } : {}) };
const pyodide = await loadPyodide({ indexURL, env: pyodideEnv });

// By name, through the site's lock: pulls numpy and protobuf as dependencies of smlens.
const problems = [];
await pyodide.loadPackage(["smlens"], {
  messageCallback: () => {},
  errorCallback: (msg) => problems.push(msg),
});
for (const name of ["smlens", "numpy", "protobuf"]) {
  if (!(name in pyodide.loadedPackages)) {
    fail(`package ${name} did not load from ${indexURL}: ${problems.join("; ") || "no error reported"}`);
  }
}
for (const wheel of testWheels) {
  const bytes = readFileSync(path.join(testWheelDir, wheel));
  // unpackArchive wants an ArrayBuffer, not a Node Buffer.
  pyodide.unpackArchive(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), "wheel");
}
wasmMemory.restore();
bridge.registerKernels(pyodide, await bridge.instantiateKernels(
  readFileSync(path.join(site, "kernels", "wasm", "smlens_kernels.wasm")), wasmMemory.memory));
const tReady = performance.now();

pyodide.FS.mkdirTree(root);
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root }, root);
if (hasShared && !sharedDir.startsWith(root + path.sep)) {
  pyodide.FS.mkdirTree(sharedDir);
  // NODEFS needs a real folder as its root: ../shared is often a symlink
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: realpathSync(sharedDir) }, sharedDir);
}
console.log(hasShared ? `shared data mounted from ${sharedDir}`
  : `no shared data at ${sharedDir}: the big cases are skipped (set SMLENS_SHARED)`);

const args = [
  "tests", "-m", "pyodide", "--ignore=tests/e2e", "-q",
  "-p", "no:cacheprovider", "-p", "no:faulthandler",
  ...process.argv.slice(2),
];
pyodide.globals.set("_smlens_root", root);
pyodide.globals.set("_smlens_args", pyodide.toPy(args));
let code;
try {
  code = await pyodide.runPythonAsync(`
import os, sys
import numpy, google.protobuf, smlens, pytest
os.chdir(_smlens_root)
print(f"Pyodide {sys.version.split()[0]} ({sys.platform}): numpy {numpy.__version__}, "
      f"protobuf {google.protobuf.__version__}, pytest {pytest.__version__}, "
      f"smlens from {os.path.dirname(smlens.__file__)}", flush=True)
int(pytest.main(list(_smlens_args)))
`);
} catch (err) {
  console.error(String(err));
  code = 3;
}
const tEnd = performance.now();
console.log(
  `pyodide tier: runtime + packages ${((tReady - t0) / 1000).toFixed(1)} s, ` +
    `pytest ${((tEnd - tReady) / 1000).toFixed(1)} s, exit ${code}`,
);
process.exit(code);
