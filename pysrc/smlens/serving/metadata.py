"""What TF Serving's `GET /v1/models/NAME[/versions/V]/metadata` returns for a SavedModel.

TF Serving loads the MetaGraph tagged "serve", packs its whole signature_def map into a SignatureDefMap and
prints the GetModelMetadataResponse with protobuf's JSON printer (whitespace, proto field names, fields
without presence always printed: int64 as strings, enums by name), concatenating model_spec and the
signature map by hand (http_rest_api_util.cc). This module builds the same protos and text.
"""
from __future__ import annotations

import json

from google.protobuf import json_format

from ..proto import serving_pb2

SIGNATURE_DEF = "signature_def"
SIGNATURE_DEF_MAP_URL = "type.googleapis.com/tensorflow.serving.SignatureDefMap"


def name_and_version(model_name: str) -> tuple[str, int]:
    """Model name and version from the opened path: ".../NAME/7" (a TF-Serving version folder) gives
    (NAME, 7); a plain SavedModel folder NAME gives (NAME, 1), the version TF Serving would give it as
    NAME/1."""
    parts = [p for p in model_name.replace("\\", "/").split("/") if p and p != "."]
    if len(parts) >= 2 and parts[-1].isdigit():
        return parts[-2], int(parts[-1])
    return (parts[-1] if parts else "model"), 1


def metadata_response(meta_graph, name: str, version: int) -> serving_pb2.GetModelMetadataResponse:
    sig_map = serving_pb2.SignatureDefMap()
    for key, sig in meta_graph.proto.signature_def.items():
        sig_map.signature_def[key].CopyFrom(sig)
    resp = serving_pb2.GetModelMetadataResponse()
    resp.model_spec.name = name
    resp.model_spec.version.value = version
    resp.metadata[SIGNATURE_DEF].Pack(sig_map)
    return resp


def _json(message) -> str:
    return json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True,
                                                always_print_fields_with_no_presence=True), indent=1)


def metadata_text(model, name: str | None = None, version: int | None = None, tags="serve") -> str:
    """The response body text, as TF Serving writes it."""
    guess_name, guess_version = name_and_version(model.name or "")
    resp = metadata_response(model.meta_graph(tags), name or guess_name,
                             guess_version if version is None else version)
    sig_map = serving_pb2.SignatureDefMap()
    resp.metadata[SIGNATURE_DEF].Unpack(sig_map)
    return ("{\n" + '"model_spec":' + _json(resp.model_spec) + ",\n" + '"metadata": {'
            + '"signature_def": ' + _json(sig_map) + "}\n" + "}\n")
