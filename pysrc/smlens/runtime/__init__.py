"""Execution engine: signatures compiled into plans and run over the NumPy kernels.

Entry points: `plan.compile_signature(signature)` (Signature.plan() calls it) and `state.get_runtime(meta_graph)`.
Modules: graphs (GraphDef/FunctionDef bodies), compiler (pruning; lower -> passes -> emit: ir, lower,
passes/, emit, dataflow_builder), options (passes on/off, backends), profile (per-step times), executor
(straight-line programs), dataflow (TF1 control flow with frames), functions (compiled FunctionDefs),
state (per-MetaGraph runtime: resources, init op), binding (variables/assets -> checkpoint keys/asset files),
resources (variables), feeds (input checks), plan (signature plans).
Nothing is imported here. Layers: the kernels and backends sit above the runtime (kernel modules import
runtime.resources and fill runtime.opregistry; backends register in runtime.backend_registry); the
package root (smlens/__init__.py) imports them and installs the planner in model.py.
"""
