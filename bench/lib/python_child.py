"""One Python onnx measurement in a fresh process (run by run.mjs):  python3 bench/lib/python_child.py '<json job>'

Modes:
  load-save  onnx.load(source) (external data loaded, the default) then onnx.save(model, destination), with
             save_as_external_data=True into '<destination>.data' when job["external"] is true.
  check      onnx.checker.check_model(path, full_check=True) on a generated model (not timed).
Prints one JSON line: {"seconds", "phases", "baselineRss", "maxRss"} (bytes).
"""
import json
import os
import resource
import sys
import time


def rss_now():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


job = json.loads(sys.argv[1])
import onnx  # noqa: E402  (imported before the baseline, like the Node side loads its modules first)

if job["mode"] == "check":
    onnx.checker.check_model(job["path"], full_check=True)
    model = onnx.load(job["path"], load_external_data=False)
    print(json.dumps({"onnx": onnx.__version__, "initializers": len(model.graph.initializer), "nodes": len(model.graph.node)}))
    sys.exit(0)

baseline = rss_now()
start = time.perf_counter()
model = onnx.load(job["source"])
loaded = time.perf_counter()
if job["external"]:
    onnx.save(
        model,
        job["destination"],
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=os.path.basename(job["destination"]) + ".data",
        size_threshold=1024,
    )
else:
    onnx.save(model, job["destination"])
end = time.perf_counter()
print(
    json.dumps(
        {
            "seconds": end - start,
            "phases": {"read": loaded - start, "write": end - loaded},
            "baselineRss": baseline,
            "maxRss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
    )
)
