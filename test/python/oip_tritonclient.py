"""Triton's own client library against `hepflow serve`: the Open Inference Protocol check.

usage: oip_tritonclient.py HTTP_HOST:PORT GRPC_HOST:PORT MODEL CASE.json
CASE.json: {"inputs": {name: nested list [N, ...]}, "expected": [[p, ...], ...], "classes": [...]}.
Checks health, readiness and metadata over tritonclient.http and tritonclient.grpc, then
infers the inputs four ways (HTTP binary tensors, HTTP JSON tensors, HTTP with no
outputs named, gRPC) and compares each answer with the expected probabilities to 1e-6;
then reads /metrics with prometheus_client's parser. Prints one JSON line of what it
saw; exits 1 with the reason on a mismatch. {"skip": reason} without tritonclient.
"""
import json
import sys
import urllib.request

try:
    import numpy as np
    import tritonclient.grpc as grpcclient
    import tritonclient.http as httpclient
    from prometheus_client.parser import text_string_to_metric_families
    from tritonclient.utils import InferenceServerException
except ImportError as e:
    print(json.dumps({"skip": f"tritonclient[http,grpc] / prometheus_client not importable: {e}"}))
    sys.exit(0)


def fail(why: str) -> None:
    print(json.dumps({"error": why}))
    sys.exit(1)


def close(name: str, got, want) -> float:
    got = np.asarray(got)
    if got.shape != want.shape:
        fail(f"{name}: shape {got.shape}, expected {want.shape}")
    err = float(np.max(np.abs(got - want)))
    if err > 1e-6:
        fail(f"{name}: probabilities differ by {err}")
    return err


def infer_http(client, model, arrays, binary, name_outputs):
    inputs = []
    for name, a in arrays.items():
        t = httpclient.InferInput(name, list(a.shape), "FP32")
        t.set_data_from_numpy(a, binary_data=binary)
        inputs.append(t)
    outputs = [httpclient.InferRequestedOutput("probabilities", binary_data=binary)] if name_outputs else None
    r = client.infer(model, inputs, outputs=outputs, request_id="http-1")
    return r.as_numpy("probabilities"), r.get_response()


def main() -> None:
    http_url, grpc_url, model, case_file = sys.argv[1:5]
    with open(case_file) as f:
        case = json.load(f)
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in case["inputs"].items()}
    want = np.asarray(case["expected"], dtype=np.float32)
    seen = {}

    h = httpclient.InferenceServerClient(url=http_url)
    if not (h.is_server_live() and h.is_server_ready() and h.is_model_ready(model)):
        fail("http: not live/ready")
    md = h.get_model_metadata(model)
    seen["httpMetadata"] = {"inputs": md["inputs"], "outputs": md["outputs"], "classes": md.get("classes")}
    if md.get("classes") != case["classes"]:
        fail(f"http metadata classes {md.get('classes')}")
    for binary, named, key in [(True, True, "httpBinary"), (False, True, "httpJson"), (True, False, "httpDefault")]:
        got, resp = infer_http(h, model, arrays, binary, named)
        seen[key] = close(key, got, want)
        if resp["parameters"]["classes"] != ",".join(case["classes"]) or resp.get("id") != "http-1":
            fail(f"{key}: response {resp}")
    try:
        h.get_model_metadata("no-such-model")
        fail("http: metadata of an unknown model answered")
    except InferenceServerException as e:
        seen["httpUnknownModel"] = str(e)

    g = grpcclient.InferenceServerClient(url=grpc_url)
    if not (g.is_server_live() and g.is_server_ready() and g.is_model_ready(model)):
        fail("grpc: not live/ready")
    gmd = g.get_model_metadata(model, as_json=True)
    seen["grpcMetadata"] = {"inputs": gmd["inputs"], "outputs": gmd["outputs"], "platform": gmd["platform"]}
    seen["grpcServer"] = g.get_server_metadata(as_json=True)["name"]
    inputs = []
    for name, a in arrays.items():
        t = grpcclient.InferInput(name, list(a.shape), "FP32")
        t.set_data_from_numpy(a)
        inputs.append(t)
    r = g.infer(model, inputs, outputs=[grpcclient.InferRequestedOutput("probabilities")], request_id="grpc-1")
    seen["grpc"] = close("grpc", r.as_numpy("probabilities"), want)
    resp = r.get_response(as_json=True)
    if resp["parameters"]["classes"]["string_param"] != ",".join(case["classes"]) or resp["id"] != "grpc-1":
        fail(f"grpc: response {resp}")
    bad = grpcclient.InferInput(list(arrays)[0], [1, 3], "FP32")
    bad.set_data_from_numpy(np.zeros((1, 3), dtype=np.float32))
    try:
        g.infer(model, [bad])
        fail("grpc: a bad shape was answered")
    except InferenceServerException as e:
        seen["grpcBadShape"] = {"status": e.status(), "message": e.message()}

    text = urllib.request.urlopen(f"http://{http_url}/metrics").read().decode()
    families = {}
    for fam in text_string_to_metric_families(text):
        families[fam.name] = {
            "type": fam.type,
            "samples": [[s.name, s.labels, s.value] for s in fam.samples],
        }
    seen["metrics"] = families
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
