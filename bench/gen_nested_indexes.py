# A package whose one tagged image is a chain of N nested untagged indexes (each lists the next),
# ending in a platform manifest: the shape that made part-of quadratic (issue 10.13).
#   python3 bench/gen_nested_indexes.py N   -> writes nested-N.json in the current directory
import json, hashlib, sys
n=int(sys.argv[1])
def d(t): return "sha256:"+hashlib.sha256(t.encode()).hexdigest()
leaf=json.dumps({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:"+"0"*64,"size":2},"layers":[]})
texts=[leaf]
for i in range(n):
    child=texts[-1]
    idx=json.dumps({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":d(child),"size":len(child)}],"annotations":{"i":str(i)}})
    texts.append(idx)
versions=[]
manifests={}
N=len(texts)
for j,t in enumerate(reversed(texts)):
    tags=["v1"] if j==0 else []
    ts="2026-01-01T00:00:00Z"
    versions.append({"id":100000+N-j,"name":d(t),"created_at":ts,"updated_at":ts,"metadata":{"package_type":"container","container":{"tags":tags}}})
    manifests[d(t)]=t
inv={"schema":1,"owner":"acme","captured_at":"2026-11-20T00:00:00Z","packages":[{"package":{"id":1,"name":"api","package_type":"container"},"versions":versions,"manifests":manifests}]}
json.dump(inv,open(f"nested-{n}.json","w"))
