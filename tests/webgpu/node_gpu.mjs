// WebGPU in plain Node for tests and benchmarks: the npm `webgpu` package (Dawn). Without a GPU, Dawn
// finds Chromium's SwiftShader Vulkan driver when VK_ICD_FILENAMES names its ICD file and the loader
// (libvulkan.so.1 from Chromium) is on LD_LIBRARY_PATH; JSPI (pyodide.ffi.run_sync) needs
// --experimental-wasm-stack-switching in Node 20. `relaunchWithGpuEnv` re-executes the current
// script with those settings when they are missing (the dynamic loader reads LD_LIBRARY_PATH only
// at process start).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const CHROMIUM_DIRS = ["/usr/lib/chromium", "/usr/lib/chromium-browser"];

export function relaunchWithGpuEnv() {
  if (process.env.SMLENS_GPU_ENV === "1") return;
  const env = { ...process.env, SMLENS_GPU_ENV: "1" };
  const dir = CHROMIUM_DIRS.find((d) => existsSync(`${d}/vk_swiftshader_icd.json`));
  if (dir && !process.env.SMLENS_NO_SWIFTSHADER) {
    env.VK_ICD_FILENAMES ??= `${dir}/vk_swiftshader_icd.json`;
    if (existsSync(`${dir}/libvulkan.so.1`)) {
      env.LD_LIBRARY_PATH = [env.LD_LIBRARY_PATH, dir].filter(Boolean).join(":");
    }
  }
  const flags = [...process.execArgv];
  for (const f of ["--experimental-wasm-stack-switching", "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON"]) {
    if (!flags.includes(f)) flags.push(f);
  }
  const r = spawnSync(process.execPath, [...flags, ...process.argv.slice(1)], { env, stdio: "inherit" });
  process.exit(r.status ?? 1);
}

export async function nodeGpu() {
  const { create, globals } = await import("webgpu");
  Object.assign(globalThis, globals);  // GPUBufferUsage, GPUMapMode, ...
  return create([]);
}
