// Test tier "webgpu": the webgpu backend's WGSL kernels against smlens' NumPy kernels, inside
// Pyodide 0.27.7 in Node 20, on WebGPU from the npm `webgpu` package (Dawn; SwiftShader without a GPU).
//
//   node tests/webgpu/run.mjs [pytest args...]     (after `python build.py test` fetched the wheels)
//
// Loads Pyodide from node_modules/pyodide, numpy/protobuf from .cache/pyodide-wheels and pytest from
// .cache/pyodide-test-wheels, mounts the checkout (NODEFS) and imports smlens from pysrc/ (the
// sources under test, no wheel build needed), installs the JS device layer (web/js/webgpu.js) into
// smlens.backends.webgpu and runs pytest on tests/webgpu through runPythonAsync, so that
// pyodide.ffi.run_sync (JSPI) can wait for GPU read-backs. Exit code: pytest's.
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { nodeGpu, relaunchWithGpuEnv } from "./node_gpu.mjs";

relaunchWithGpuEnv();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const fail = (m) => { console.error(`tests/webgpu/run.mjs: ${m}`); process.exit(2); };

export async function loadPyodideWithSmlens({ withPytest = true } = {}) {
  const indexURL = path.join(root, "node_modules", "pyodide") + path.sep;
  const wheelDir = path.join(root, ".cache", "pyodide-wheels");
  const testWheelDir = path.join(root, ".cache", "pyodide-test-wheels");
  if (!existsSync(path.join(indexURL, "pyodide.mjs"))) fail(`no Pyodide in ${indexURL}: run npm ci`);
  const wheels = (d) => existsSync(d) ? readdirSync(d).filter((f) => f.endsWith(".whl")).sort() : [];
  const core = wheels(wheelDir).filter((f) => /^(numpy|protobuf)-/.test(f));
  if (core.length < 2) fail(`numpy/protobuf wheels missing in ${wheelDir}: \`python build.py test\` fetches them`);
  if (!globalThis.navigator) globalThis.navigator = { userAgent: "node" };
  const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
  const pyodide = await loadPyodide({ indexURL, env: { PYTHONHASHSEED: "0" } });
  const problems = [];
  await pyodide.loadPackage(core.map((f) => path.join(wheelDir, f)),
    { messageCallback: () => {}, errorCallback: (m) => problems.push(m) });
  for (const name of ["numpy", "protobuf"]) {
    if (!(name in pyodide.loadedPackages)) fail(`${name} did not load: ${problems.join("; ")}`);
  }
  if (withPytest) {
    const tw = wheels(testWheelDir);
    if (!tw.some((f) => f.startsWith("pytest-"))) fail(`no pytest wheel in ${testWheelDir}`);
    for (const w of tw) {
      const b = readFileSync(path.join(testWheelDir, w));
      pyodide.unpackArchive(b.buffer.slice(b.byteOffset, b.byteOffset + b.length), "wheel");
    }
  }
  pyodide.FS.mkdirTree(root);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root }, root);
  // The shared corpus (big models), where present: SMLENS_SHARED or shared/ beside the checkout (or its parent).
  const shared = [process.env.SMLENS_SHARED, path.join(root, "..", "shared"), path.join(root, "..", "..", "shared")]
    .find((d) => d && existsSync(path.join(d, "corpus")));
  if (shared) {
    const dir = path.resolve(shared);
    pyodide.FS.mkdirTree(dir);
    // NODEFS needs a real folder as its root: ../shared is often a symlink (as in tests/pyodide/run.mjs)
    pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: realpathSync(dir) }, dir);
    pyodide.runPython(`import os; os.environ["SMLENS_SHARED"] = ${JSON.stringify(dir)}`);
  }
  pyodide.runPython(`import sys; sys.path.insert(0, ${JSON.stringify(path.join(root, "pysrc"))})`);
  return pyodide;
}

export async function installWebGPU(pyodide) {
  const { createWebGPURuntime } = await import(pathToFileURL(path.join(root, "web", "js", "webgpu.js")).href);
  const rt = await createWebGPURuntime(await nodeGpu());
  if (!rt) return null;
  pyodide.pyimport("smlens.backends.webgpu").install(rt);
  return rt;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const t0 = performance.now();
  const pyodide = await loadPyodideWithSmlens();
  const rt = await installWebGPU(pyodide);
  if (!rt) fail("no WebGPU adapter (Dawn found no Vulkan/Metal/D3D device; is chromium installed for SwiftShader?)");
  console.log(`WebGPU adapter: ${JSON.stringify(rt.info)}`);
  const tReady = performance.now();
  const args = ["tests/webgpu", "-q", "-p", "no:cacheprovider", "-p", "no:faulthandler", ...process.argv.slice(2)];
  pyodide.globals.set("_smlens_root", root);
  pyodide.globals.set("_smlens_args", pyodide.toPy(args));
  let code;
  try {
    code = await pyodide.runPythonAsync(`
import os, pytest
os.chdir(_smlens_root)
int(pytest.main(list(_smlens_args)))
`);
  } catch (err) {
    console.error(String(err));
    code = 3;
  }
  console.log(`webgpu tier: setup ${((tReady - t0) / 1000).toFixed(1)} s, pytest ` +
              `${((performance.now() - tReady) / 1000).toFixed(1)} s, ${rt.statsJSON()}, exit ${code}`);
  rt.destroy();
  process.exit(code);
}
