#!/usr/bin/env python3
"""The packaged Lambda artefacts, checked: each target/lambda/<arch>/bootstrap/bootstrap.zip holds
exactly one executable `bootstrap` for its architecture, needing at most GLIBC_2.34 (the
provided.al2023 runtime's glibc). Prints each zip's size and its highest GLIBC symbol version;
exits non-zero on any failure. Run by `make package` after building."""
import os, re, subprocess, sys, tempfile, zipfile

MAX_GLIBC = (2, 34)
MACHINE = {"arm64": "AArch64", "x86_64": "X86-64"}


def glibc_versions(path):
    out = subprocess.run(["readelf", "-V", "--wide", path], check=True, capture_output=True, text=True).stdout
    return sorted({tuple(int(x) for x in m.split(".")) for m in re.findall(r"GLIBC_([0-9]+(?:\.[0-9]+)+)", out)})


def machine(path):
    out = subprocess.run(["readelf", "-h", path], check=True, capture_output=True, text=True).stdout
    return re.search(r"Machine:\s+(.*)", out).group(1).strip()


def check(root):
    failures, found = [], 0
    for arch in sorted(os.listdir(root)):
        z = os.path.join(root, arch, "bootstrap", "bootstrap.zip")
        if arch not in MACHINE or not os.path.exists(z):
            continue
        found += 1
        with zipfile.ZipFile(z) as zf, tempfile.TemporaryDirectory() as tmp:
            names = zf.namelist()
            if names != ["bootstrap"]:
                failures.append(f"{z}: holds {names}, not exactly ['bootstrap']")
                continue
            info = zf.getinfo("bootstrap")
            mode = info.external_attr >> 16
            binary = zf.extract("bootstrap", tmp)
            versions = glibc_versions(binary)
            highest = versions[-1] if versions else (0, 0)
            size = os.path.getsize(z)
            print(f"{arch:7} {z}: zip {size / 1e6:.1f} MB, bootstrap {info.file_size / 1e6:.1f} MB, "
                  f"highest GLIBC_{'.'.join(map(str, highest))}, {machine(binary)}")
            if not mode & 0o111:
                failures.append(f"{z}: bootstrap is not executable (mode {oct(mode)})")
            if highest > MAX_GLIBC:
                failures.append(f"{z}: needs GLIBC_{'.'.join(map(str, highest))}, more than provided.al2023's 2.34")
            if MACHINE[arch] not in machine(binary):
                failures.append(f"{z}: built for {machine(binary)}, not {arch}")
    if not found:
        failures.append(f"no artefact under {root}/<arch>/bootstrap/bootstrap.zip: run `make package`")
    for f in failures:
        print("FAIL", f, file=sys.stderr)
    return not failures


if __name__ == "__main__":
    sys.exit(0 if check(sys.argv[1] if len(sys.argv) > 1 else "target/lambda") else 1)
