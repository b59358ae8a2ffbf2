#!/usr/bin/env python3
"""Write examples/inventory.json: an example inventory (schema 1, DESIGN.md) for owner `acme`.

Deterministic (no clock, no randomness) and Python 3 standard library only:

    python3 examples/make_inventory.py            # writes examples/inventory.json
    python3 examples/make_inventory.py OUT.json

The package and package-version objects have the shapes of GitHub's REST API examples
(shared/reference/github-packages-openapi-subset.json): url, html_url, package_html_url,
metadata, owner, visibility, version_count... Container packages carry REAL manifest bytes whose
sha256 is the version name, so the image graph is exercised exactly as on ghcr.io:

  api        multi-platform OCI indexes (linux/amd64 + linux/arm64 children, untagged) with a
             buildx attestation manifest (unknown/unknown) inside; releases v1.x and v2.x, a
             prerelease, `latest`; a cosign signature `sha256-<hex>.sig` of the latest release;
             an SBOM referrer with a `subject` plus its referrers fallback index `sha256-<hex>`;
             14 main-* builds; old and recent pr-* images; a platform manifest shared by a kept
             main build and an expired pr image; an index that lost its tag; untagged leftovers;
             a release that also carries an expired pr tag (`v1.4.2`, `pr-39`); broken images
             left by other tools: a partial index (`v0.9.0`, its arm64 manifest gone) and a
             cosign signature whose image is gone (orphaned).
  web        Docker manifest lists (docker v2 children), releases, pr images, one of them signed
             (its signature must go with it), main builds, and a ghost index (`pr-80`, none of
             its platform manifests left).
  tools/cli  a name with a slash; single-platform OCI manifests, main builds, an old pr image
             and one nested index.
  sdk        an npm package with releases and prereleases.

Every timestamp is relative to a fixed now, 2026-11-20T00:00:00Z; run the demo with
`--now 2026-11-20T00:00:00Z`.
"""

import hashlib
import json
import os
import sys
from datetime import datetime, timedelta, timezone

NOW = datetime(2026, 11, 20, 0, 0, 0, tzinfo=timezone.utc)
OWNER = "acme"
API = "https://api.github.com"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha(data):
    return "sha256:" + hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


OWNER_OBJ = {
    "login": OWNER,
    "id": 7700001,
    "node_id": "O_kgDOAHV_IQ",
    "avatar_url": "https://avatars.githubusercontent.com/u/7700001?v=4",
    "gravatar_id": "",
    "url": f"{API}/users/{OWNER}",
    "html_url": f"https://github.com/{OWNER}",
    "followers_url": f"{API}/users/{OWNER}/followers",
    "following_url": f"{API}/users/{OWNER}/following{{/other_user}}",
    "gists_url": f"{API}/users/{OWNER}/gists{{/gist_id}}",
    "starred_url": f"{API}/users/{OWNER}/starred{{/owner}}{{/repo}}",
    "subscriptions_url": f"{API}/users/{OWNER}/subscriptions",
    "organizations_url": f"{API}/users/{OWNER}/orgs",
    "repos_url": f"{API}/users/{OWNER}/repos",
    "events_url": f"{API}/users/{OWNER}/events{{/privacy}}",
    "received_events_url": f"{API}/users/{OWNER}/received_events",
    "type": "Organization",
    "site_admin": False,
}


class Package:
    """Collects the versions and manifests of one package, then emits GitHub's objects."""

    def __init__(self, pkg_id, name, package_type, repo, first_id, visibility="private"):
        self.pkg_id = pkg_id
        self.name = name
        self.type = package_type
        self.repo = repo
        self.next_id = first_id
        self.visibility = visibility
        self.versions = {}  # version name -> dict(created, tags)
        self.manifests = {}  # digest -> exact bytes (str)

    # -- manifests ---------------------------------------------------------------------------

    def put(self, doc, days_ago, tags=(), minutes=0):
        """Store a manifest (exact bytes, 3-space indent as buildx writes) as a version."""
        text = json.dumps(doc, indent=3)
        digest = sha(text)
        self.manifests[digest] = text
        created = NOW - timedelta(days=days_ago, minutes=minutes)
        if digest in self.versions:  # the same manifest pushed again: one version, more tags
            self.versions[digest]["tags"] += list(tags)
        else:
            self.versions[digest] = {"created": created, "tags": list(tags)}
        return {"mediaType": doc["mediaType"], "digest": digest, "size": len(text.encode())}

    def image(self, seed, days_ago, arch, tags=(), docker=False, minutes=0):
        """A single-platform image manifest; `seed` makes its config and layers unique."""
        config_t, layer_t, mt = (
            (DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST) if docker else (OCI_CONFIG, OCI_LAYER, OCI_MANIFEST)
        )
        doc = {
            "schemaVersion": 2,
            "mediaType": mt,
            "config": {"mediaType": config_t, "digest": sha(f"config {self.name} {seed} {arch}"), "size": 1470 + len(seed)},
            "layers": [
                # A shared base layer, then the application layer.
                {"mediaType": layer_t, "digest": sha(f"base {arch}"), "size": 3623807},
                {"mediaType": layer_t, "digest": sha(f"app {self.name} {seed} {arch}"), "size": 18230311 + len(seed) * 17},
            ],
        }
        if not docker:
            doc["annotations"] = {"org.opencontainers.image.created": ts(NOW - timedelta(days=days_ago, minutes=minutes))}
        d = self.put(doc, days_ago, tags, minutes=minutes + 1)
        d["platform"] = {"architecture": arch, "os": "linux"}
        return d

    def attestation(self, seed, days_ago, subject_digest):
        """A buildx provenance attestation manifest (lives in the index, unknown/unknown)."""
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha(f"att config {seed}"), "size": 167},
            "layers": [
                {
                    "mediaType": "application/vnd.in-toto+json",
                    "digest": sha(f"provenance {self.name} {seed}"),
                    "size": 2741,
                    "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
                }
            ],
        }
        d = self.put(doc, days_ago, minutes=1)
        d["platform"] = {"architecture": "unknown", "os": "unknown"}
        d["annotations"] = {
            "vnd.docker.reference.digest": subject_digest,
            "vnd.docker.reference.type": "attestation-manifest",
        }
        return d

    def multi(self, seed, days_ago, tags=(), archs=("amd64", "arm64"), attest=True, docker=False, shared=None):
        """A multi-platform image: an index over untagged platform manifests (+ attestation).

        `shared` maps an arch to an existing platform descriptor to reuse (same build output)."""
        children = []
        for arch in archs:
            if shared and arch in shared:
                children.append(shared[arch])
            else:
                children.append(self.image(seed, days_ago, arch, docker=docker))
        if attest:
            children.append(self.attestation(seed, days_ago, children[0]["digest"]))
        doc = {"schemaVersion": 2, "mediaType": DOCKER_LIST if docker else OCI_INDEX, "manifests": children}
        if not docker:
            doc["annotations"] = {"org.opencontainers.image.revision": hashlib.sha1(seed.encode()).hexdigest()}
        index = self.put(doc, days_ago, tags)
        return index, {c["platform"]["architecture"]: c for c in children}

    def cosign(self, subject_digest, days_ago, kind="sig"):
        """A cosign signature (or attestation) tagged `sha256-<hex>.sig` / `.att`."""
        hexd = subject_digest.split(":", 1)[1]
        layer_type = {
            "sig": "application/vnd.dev.cosign.simplesigning.v1+json",
            "att": "application/vnd.dsse.envelope.v1+json",
        }[kind]
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha(f"cosign config {hexd} {kind}"), "size": 233},
            "layers": [
                {
                    "mediaType": layer_type,
                    "digest": sha(f"cosign payload {hexd} {kind}"),
                    "size": 247,
                    "annotations": {
                        "dev.cosignproject.cosign/signature": "MEUCIQD" + hashlib.sha256(hexd.encode()).hexdigest()[:40],
                        "dev.sigstore.cosign/bundle": "{\"SignedEntryTimestamp\":\"MEYCIQ\"}",
                    },
                }
            ],
        }
        return self.put(doc, days_ago, [f"sha256-{hexd}.{kind}"], minutes=-5)

    def sbom_referrer(self, subject, days_ago):
        """An OCI 1.1 referrer (an SPDX SBOM) with a `subject`, plus the referrers fallback index
        tagged `sha256-<subject hex>` that lists it (what a registry without the referrers API
        gets from `oras attach` or `cosign attach --type`)."""
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/spdx+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha("{}"), "size": 2, "data": "e30="},
            "layers": [{"mediaType": "application/spdx+json", "digest": sha(f"spdx {subject['digest']}"), "size": 91822}],
            "subject": {"mediaType": subject["mediaType"], "digest": subject["digest"], "size": subject["size"]},
            "annotations": {"org.opencontainers.image.created": ts(NOW - timedelta(days=days_ago))},
        }
        ref = self.put(doc, days_ago, minutes=-10)
        ref_desc = dict(ref, artifactType="application/spdx+json")
        fallback = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [ref_desc]}
        hexd = subject["digest"].split(":", 1)[1]
        self.put(fallback, days_ago, [f"sha256-{hexd}"], minutes=-11)
        return ref

    def drop(self, descriptor):
        """Remove a version, as another tool that deleted it would have (the image that lists it,
        or the subject it signs, is left broken)."""
        del self.versions[descriptor["digest"]]
        del self.manifests[descriptor["digest"]]

    def npm(self, version, days_ago):
        self.versions[version] = {"created": NOW - timedelta(days=days_ago), "tags": []}

    # -- GitHub objects ------------------------------------------------------------------------

    def encoded(self):
        return self.name.replace("/", "%2F")

    def emit(self):
        # Ids grow with creation time, as GitHub's do; the API lists newest first.
        order = sorted(self.versions.items(), key=lambda kv: (kv[1]["created"], kv[0]))
        versions = []
        for name, info in order:
            vid = self.next_id
            self.next_id += 1
            v = {
                "id": vid,
                "name": name,
                "url": f"{API}/orgs/{OWNER}/packages/{self.type}/{self.encoded()}/versions/{vid}",
                "package_html_url": f"https://github.com/orgs/{OWNER}/packages/{self.type}/package/{self.encoded()}",
                "created_at": ts(info["created"]),
                "updated_at": ts(info["created"]),
                "html_url": f"https://github.com/orgs/{OWNER}/packages/{self.type}/{self.encoded()}/{vid}",
                "metadata": {"package_type": self.type},
            }
            if self.type == "container":
                v["metadata"]["container"] = {"tags": info["tags"]}
            else:
                v["license"] = "MIT"
                v["description"] = f"{self.name} {name}"
            versions.append(v)
        versions.reverse()
        created = min(i["created"] for i in self.versions.values())
        updated = max(i["created"] for i in self.versions.values())
        package = {
            "id": self.pkg_id,
            "name": self.name,
            "package_type": self.type,
            "owner": OWNER_OBJ,
            "version_count": len(versions),
            "visibility": self.visibility,
            "url": f"{API}/orgs/{OWNER}/packages/{self.type}/{self.encoded()}",
            "created_at": ts(created),
            "updated_at": ts(updated),
            "repository": {
                "id": self.pkg_id * 10,
                "node_id": "R_kgDO" + hashlib.sha1(self.repo.encode()).hexdigest()[:8],
                "name": self.repo,
                "full_name": f"{OWNER}/{self.repo}",
                "private": self.visibility == "private",
                "owner": OWNER_OBJ,
                "html_url": f"https://github.com/{OWNER}/{self.repo}",
                "description": None,
                "fork": False,
                "url": f"{API}/repos/{OWNER}/{self.repo}",
            },
            "html_url": f"https://github.com/orgs/{OWNER}/packages/{self.type}/package/{self.encoded()}",
        }
        entry = {"package": package, "versions": versions}
        if self.type == "container":
            entry["manifests"] = dict(sorted(self.manifests.items()))
        return entry


def build_api():
    p = Package(4100001, "api", "container", "api", 310000000)
    # Releases: v1.x and v2.x, every one a multi-platform index with an attestation.
    releases = [
        ("v1.0.0", 300), ("v1.1.0", 260), ("v1.2.0", 220), ("v1.3.0", 180), ("v1.4.0", 150),
        ("v1.4.2", 120), ("v2.0.0", 90), ("v2.0.1", 60),
    ]
    for tag, days in releases:
        # v1.4.2 is pull request 39's image promoted to a release: it also carries `pr-39`.
        p.multi(f"release {tag}", days, [tag] + (["pr-39"] if tag == "v1.4.2" else []))
    # v0.9.0 lost its arm64 manifest to another tool: a partial image, kept (a release), reported.
    _, v090 = p.multi("release v0.9.0", 400, ["v0.9.0"])
    p.drop(v090["arm64"])
    # A cosign signature of a pr image that another tool deleted: orphaned.
    p.cosign(sha("pr 12 deleted elsewhere"), 60, "sig")
    latest, _ = p.multi("release v2.1.0", 3, ["v2.1.0", "latest"])
    p.multi("release v2.2.0-rc.1", 1, ["v2.2.0-rc.1"])
    # The latest release is signed with cosign and has an SBOM attached as an OCI referrer.
    p.cosign(latest["digest"], 3, "sig")
    p.sbom_referrer(latest, 3)
    # Pull-request images: pr-41 (three pushes) and pr-42 expired, pr-57 (two pushes) fresh.
    p.multi("pr 41 a", 24, ["pr-41-1"])
    p.multi("pr 41 b", 22, ["pr-41-2"])
    p.multi("pr 41", 20, ["pr-41"])
    _, pr42_children = p.multi("pr 42", 16, ["pr-42"])
    p.multi("pr 57 a", 4, ["pr-57-1"])
    p.multi("pr 57 b", 3, ["pr-57-2"])
    # 14 main builds, one a day. The build of 10 days ago reproduced pr-42's amd64 image bit for
    # bit, so that platform manifest is shared by a kept main build and an expired pr image.
    for day in range(14, 0, -1):
        tag = "main-" + hashlib.sha1(f"main {day}".encode()).hexdigest()[:7]
        shared = {"amd64": pr42_children["amd64"]} if day == 10 else None
        p.multi(f"main {day}", day, [tag], shared=shared)
    # An index that lost its `latest` tag to a newer push: untagged, with its children.
    p.multi("release v2.0.1 rebuild", 45, [])
    # Untagged leftovers: single-platform pushes; two old, one too young to delete.
    p.image("leftover 1", 30, "amd64")
    p.image("leftover 2", 10, "amd64")
    p.image("leftover 3", 1, "amd64")
    return p


def build_web():
    p = Package(4100002, "web", "container", "web", 320000000, visibility="public")
    for tag, days in [("v1.0.0", 200), ("v1.1.0", 150), ("v1.2.0", 70), ("v1.3.0", 12)]:
        p.multi(f"web {tag}", days, [tag] + (["latest"] if tag == "v1.3.0" else []), attest=False, docker=True)
    for day in (2, 5, 9):
        p.multi(f"web main {day}", day, [f"main-{hashlib.sha1(f'web main {day}'.encode()).hexdigest()[:7]}"], attest=False, docker=True)
    # pr-88 is old and signed: its signature must be deleted with it. pr-90 is fresh.
    pr88, _ = p.multi("web pr 88", 25, ["pr-88"], attest=False, docker=True)
    p.cosign(pr88["digest"], 25, "sig")
    p.multi("web pr 88 first", 28, ["pr-88-1"], attest=False, docker=True)
    p.multi("web pr 88 second", 27, ["pr-88-2"], attest=False, docker=True)
    p.multi("web pr 90", 6, ["pr-90"], attest=False, docker=True)
    # pr-80's platform manifests were deleted by another tool: a ghost index, which the pr rule
    # deletes like any expired pr image.
    _, pr80 = p.multi("web pr 80", 40, ["pr-80"], attest=False, docker=True)
    p.drop(pr80["amd64"])
    p.drop(pr80["arm64"])
    return p


def build_cli():
    p = Package(4100003, "tools/cli", "container", "tools", 330000000)
    p.image("cli v0.9.0", 400, "amd64", ["v0.9.0"])
    p.image("cli v1.0.0", 100, "amd64", ["v1.0.0"])
    # A nested index: the top index lists a per-OS index that lists the platform manifests.
    inner, _ = p.multi("cli v1.1.0", 20, [], attest=False)
    outer = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [dict(inner, platform={"architecture": "amd64", "os": "linux"})],
        "annotations": {"org.opencontainers.image.ref.name": "v1.1.0"},
    }
    p.put(outer, 20, ["v1.1.0", "latest"], minutes=-1)
    for day in (2, 6, 9):
        p.image(f"cli main {day}", day, "amd64", ["main-" + hashlib.sha1(f"cli main {day}".encode()).hexdigest()[:7]])
    p.image("cli pr 7", 30, "amd64", ["pr-7"])
    p.image("cli leftover", 50, "amd64")
    return p


def build_sdk():
    p = Package(4100004, "sdk", "npm", "sdk", 340000000, visibility="public")
    for version, days in [
        ("1.0.0", 240), ("1.1.0", 180), ("1.2.0-beta.1", 130), ("1.2.0-beta.2", 120), ("1.2.0", 110),
        ("2.0.0-alpha.1", 75), ("2.0.0-rc.1", 45), ("2.0.0-rc.2", 35), ("2.0.0", 32), ("2.1.0-beta.1", 10),
    ]:
        p.npm(version, days)
    return p


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "inventory.json")
    packages = [build_api(), build_web(), build_cli(), build_sdk()]
    inventory = {
        "schema": 1,
        "owner": OWNER,
        "captured_at": ts(NOW),
        "packages": [p.emit() for p in packages],
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(inventory, f, indent=2)
        f.write("\n")
    total = sum(len(p.versions) for p in packages)
    print(f"wrote {out}: {len(packages)} packages, {total} versions", file=sys.stderr)


if __name__ == "__main__":
    main()
