#!/usr/bin/env python3
"""Generate a large inventory (schema 1, DESIGN.md) for the benchmark: by default 200,000 container
versions in 100 packages. Deterministic, Python 3 standard library only.

    python3 bench/gen_inventory.py --output /tmp/inventory.json [--versions 200000] [--packages 100]

Each package holds, per 20 versions: 4 multi-platform images (an OCI index tagged main-*, pr-* or
v*, with linux/amd64 and linux/arm64 children, untagged: 12 versions), 7 tagged single-platform
images and 1 untagged leftover. Every version has all the fields GitHub returns (url, html_url,
package_html_url, metadata…) and a real manifest whose sha256 is its name, so the image graph
and digest verification are exercised at full size. Timestamps spread over a year before
2026-11-20T00:00:00Z.
"""

import argparse
import hashlib
import json
import sys
from datetime import datetime, timedelta, timezone

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
OWNER = "acme"
API = "https://api.github.com"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

OWNER_OBJ = {
    "login": OWNER, "id": 7700001, "node_id": "O_kgDOAHV_IQ",
    "avatar_url": "https://avatars.githubusercontent.com/u/7700001?v=4", "gravatar_id": "",
    "url": f"{API}/users/{OWNER}", "html_url": f"https://github.com/{OWNER}",
    "followers_url": f"{API}/users/{OWNER}/followers",
    "following_url": f"{API}/users/{OWNER}/following{{/other_user}}",
    "gists_url": f"{API}/users/{OWNER}/gists{{/gist_id}}",
    "starred_url": f"{API}/users/{OWNER}/starred{{/owner}}{{/repo}}",
    "subscriptions_url": f"{API}/users/{OWNER}/subscriptions",
    "organizations_url": f"{API}/users/{OWNER}/orgs", "repos_url": f"{API}/users/{OWNER}/repos",
    "events_url": f"{API}/users/{OWNER}/events{{/privacy}}",
    "received_events_url": f"{API}/users/{OWNER}/received_events",
    "type": "Organization", "site_admin": False,
}


def h(s):
    return hashlib.sha256(s.encode()).hexdigest()


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_manifest(seed, arch):
    return json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": "sha256:" + h("c" + seed + arch), "size": 1528},
        "layers": [
            {"mediaType": OCI_LAYER, "digest": "sha256:" + h("base" + arch), "size": 3623807},
            {"mediaType": OCI_LAYER, "digest": "sha256:" + h("l" + seed + arch), "size": 18230311},
        ],
    }, indent=2)


def index_manifest(children):
    return json.dumps({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": d, "size": size, "platform": {"architecture": arch, "os": "linux"}}
            for d, size, arch in children
        ],
    }, indent=2)


def package(pi, n_versions):
    name = f"service-{pi:03d}" if pi % 10 else f"team-{pi // 10}/tool-{pi:03d}"
    enc = name.replace("/", "%2F")
    # (created, tags, manifest text) in push order, oldest first
    versions = []
    step = timedelta(days=365) / max(n_versions, 1)
    t = NOW - timedelta(days=365)
    k = 0
    while len(versions) < n_versions:
        slot = k % 12
        seed = f"{pi}-{k}"
        if slot < 4 and n_versions - len(versions) >= 3:
            kids = []
            for arch in ("amd64", "arm64"):
                m = image_manifest(seed, arch)
                d = "sha256:" + h(m)
                versions.append((t, [], d, m))
                kids.append((d, len(m), arch))
                t += step
            tag = (f"main-{h(seed)[:7]}", f"pr-{k % 997}", f"v{k // 400}.{k // 20 % 20}.{k % 20}", f"main-{h(seed)[:7]}")[slot]
            m = index_manifest(kids)
            versions.append((t, [tag] if slot != 3 else [tag, f"sha-{h(seed)[:12]}"], "sha256:" + h(m), m))
        elif slot < 11:
            m = image_manifest(seed, "amd64")
            tag = f"pr-{k % 997}-{k}" if slot % 2 else f"build-{k}"
            versions.append((t, [tag], "sha256:" + h(m), m))
        else:
            m = image_manifest(seed, "amd64")
            versions.append((t, [], "sha256:" + h(m), m))
        t += step
        k += 1
    versions = versions[:n_versions]
    base_id = 100000000 + pi * 100000
    out_versions = []
    manifests = {}
    for i, (created, tags, digest, text) in enumerate(versions):
        vid = base_id + i
        out_versions.append({
            "id": vid, "name": digest,
            "url": f"{API}/orgs/{OWNER}/packages/container/{enc}/versions/{vid}",
            "package_html_url": f"https://github.com/orgs/{OWNER}/packages/container/package/{enc}",
            "created_at": ts(created), "updated_at": ts(created),
            "html_url": f"https://github.com/orgs/{OWNER}/packages/container/{enc}/{vid}",
            "metadata": {"package_type": "container", "container": {"tags": tags}},
        })
        manifests[digest] = text
    out_versions.reverse()
    pkg = {
        "id": 5000000 + pi, "name": name, "package_type": "container", "owner": OWNER_OBJ,
        "version_count": len(out_versions), "visibility": "private" if pi % 3 else "public",
        "url": f"{API}/orgs/{OWNER}/packages/container/{enc}",
        "created_at": ts(versions[0][0]), "updated_at": ts(versions[-1][0]),
        "html_url": f"https://github.com/orgs/{OWNER}/packages/container/package/{enc}",
    }
    return {"package": pkg, "versions": out_versions, "manifests": manifests}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--output", required=True)
    ap.add_argument("--versions", type=int, default=200_000)
    ap.add_argument("--packages", type=int, default=100)
    a = ap.parse_args()
    per = a.versions // a.packages
    with open(a.output, "w", encoding="utf-8") as f:
        f.write('{"schema": 1, "owner": "%s", "captured_at": "%s", "packages": [\n' % (OWNER, ts(NOW)))
        for pi in range(a.packages):
            n = per + (1 if pi < a.versions % a.packages else 0)
            if pi:
                f.write(",\n")
            json.dump(package(pi, n), f)
        f.write("\n]}\n")
    print(f"wrote {a.output}: {a.versions} versions in {a.packages} packages", file=sys.stderr)


if __name__ == "__main__":
    main()
