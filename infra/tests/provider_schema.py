"""Terraform provider schemas without the provider: read from the jsii assembly of a prebuilt CDKTF
binding (PyPI `cdktf-cdktf-provider-aws`, `cdktf-cdktf-provider-random`), and every `resource` and
`data` block of a module checked against them (`make infra-check`, `test_infra.py`).

The wheel holds `<pkg>/_jsii/<name>@<version>.jsii.tgz`, an npm tarball whose `package/.jsii` is the
assembly (or a redirect to a gzip-compressed `.jsii.gz`). In it each resource and data source is a
class (base `cdktf.TerraformResource` / `cdktf.TerraformDataSource`) whose docs link its registry
page (`.../docs/resources/sqs_queue aws_sqs_queue`), and whose `config` parameter is a struct: one
property per argument, `optional` unless required; a nested block is a property typed by another
struct (one struct: at most one block; an array of structs: a list or set of blocks), documented as
`<name> block.`. Argument names come from each property's registry link
(`...sqs_queue#delay_seconds SqsQueue#delay_seconds`), else from the block summary, else from the
camelCase name as cdktf converts it. The meta-arguments (count, for_each, provider, depends_on,
lifecycle, provisioner, connection) are cdktf's `TerraformMetaArguments`, an interface of another
assembly, and so are not among a config's own properties.

`python provider_schema.py WHEEL OUT.json` writes the compact schema once (`make infra-tools`):
  {"package", "version", "provider", "provider_version", "names": {how: count},
   "resource": {type: BLOCK}, "data": {type: BLOCK}}
  BLOCK = {"attributes": {name: {"required": bool, ["nesting", "object": BLOCK: object-typed]}},
           "blocks": {name: {"required": bool, "nesting": "single" | "list", "block": BLOCK}}}
"""

import gzip
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path

LINK = re.compile(r"\{@link https://registry\.terraform\.io/providers/([\w-]+)/([\w-]+)/([^/\s]+)/docs/"
                  r"(resources|data-sources)/([\w-]+)(?:#(\w+))?\s+([^}]*)\}")
BLOCK_SUMMARY = re.compile(r"^(\w+) block\.")
BASES = {"cdktf.TerraformResource": "resource", "cdktf.TerraformDataSource": "data"}
META_ARGUMENTS = {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}


def read_assembly(wheel: Path) -> dict:
    """The jsii assembly inside a CDKTF provider wheel."""
    with zipfile.ZipFile(wheel) as z:
        tgz = [n for n in z.namelist() if re.search(r"/_jsii/[^/]+\.jsii\.tgz$", n)]
        if len(tgz) != 1:
            raise ValueError(f"{wheel.name}: expected one _jsii/*.jsii.tgz, found {tgz}")
        with z.open(tgz[0]) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
            # The tarball is read as a stream: the assembly is its first member, the rest (the
            # compiled JavaScript) is not read. A redirect's target is kept wherever it comes.
            assembly, wanted, seen = None, None, {}
            for member in tar:
                if member.name == "package/.jsii":
                    assembly = json.loads(tar.extractfile(member).read())
                    if assembly.get("schema") != "jsii/file-redirect":
                        return assembly
                    wanted = "package/" + assembly["filename"].removeprefix("./")
                elif member.name.startswith("package/.jsii"):
                    seen[member.name] = tar.extractfile(member).read()
                if wanted is not None and wanted in seen:
                    data = seen[wanted]
                    if assembly.get("compression") == "gzip":
                        data = gzip.decompress(data)
                    return json.loads(data)
    raise ValueError(f"{wheel.name}: no package/.jsii (or the file it redirects to) in {tgz[0]}")


def snake(name: str) -> str:
    """cdktf's camelCase back to Terraform's snake_case (the fallback when no registry link names it)."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.lower()


def struct_refs(t: dict) -> list[tuple[str, str]]:
    """(struct fqn, "single" | "list") that a property's type names: a struct, or a collection of them
    (possibly in a union with cdktf.IResolvable)."""
    if "fqn" in t:
        return [(t["fqn"], "single")]
    if "collection" in t:
        return [(fqn, "list") for fqn, _ in struct_refs(t["collection"]["elementtype"])]
    if "union" in t:
        return [r for u in t["union"]["types"] for r in struct_refs(u)]
    return []


class Extractor:
    def __init__(self, assembly: dict):
        self.types = assembly["types"]
        self.names = {"link": 0, "block summary": 0, "camelCase": 0}
        self.memo: dict[str, dict] = {}

    def tf_name(self, prop: dict, owner_page: str | None) -> str:
        docs = prop.get("docs", {})
        text = docs.get("summary", "") + "\n" + docs.get("remarks", "")
        for m in LINK.finditer(text):
            if m.group(6) and (owner_page is None or m.group(5) == owner_page):
                self.names["link"] += 1
                return m.group(6)
        m = BLOCK_SUMMARY.match(docs.get("summary", ""))
        if m:
            self.names["block summary"] += 1
            return m.group(1)
        self.names["camelCase"] += 1
        return snake(prop["name"])

    def properties(self, fqn: str) -> list[dict]:
        t = self.types[fqn]
        props = list(t.get("properties", []))
        for parent in t.get("interfaces", []):
            if parent in self.types:  # cdktf.TerraformMetaArguments is another assembly's
                props += self.properties(parent)
        return props

    def block(self, fqn: str, page: str) -> dict:
        if fqn in self.memo:
            return self.memo[fqn]
        out = {"attributes": {}, "blocks": {}}
        self.memo[fqn] = out
        for prop in self.properties(fqn):
            name = self.tf_name(prop, page)
            required = not prop.get("optional", False)
            refs = [(f, n) for f, n in struct_refs(prop["type"])
                    if self.types.get(f, {}).get("kind") == "interface" and self.types[f].get("datatype")]
            is_block = bool(refs) and BLOCK_SUMMARY.match(prop.get("docs", {}).get("summary", "")) is not None
            if is_block:
                sub, nesting = refs[0]
                out["blocks"][name] = {"required": required, "nesting": nesting, "block": self.block(sub, page)}
            elif refs:
                # An object-typed argument not documented as a block: a nested attribute, or an SDKv2
                # "attribute as blocks" (default_security_group's ingress), which may be written either way.
                sub, nesting = refs[0]
                out["attributes"][name] = {"required": required, "nesting": nesting, "object": self.block(sub, page)}
            else:
                out["attributes"][name] = {"required": required}
        return out

    def schema(self) -> dict:
        out = {"resource": {}, "data": {}}
        provider = provider_version = None
        for fqn, t in self.types.items():
            kind = BASES.get(t.get("base", ""))
            if kind is None or t.get("kind") != "class":
                continue
            m = LINK.search(t.get("docs", {}).get("summary", ""))
            if not m:
                raise ValueError(f"{fqn}: no registry link in its docs to name its Terraform type")
            provider, provider_version = f"{m.group(1)}/{m.group(2)}", m.group(3)
            tf_type = m.group(7).strip()
            config = [p for p in t.get("initializer", {}).get("parameters", []) if p["name"] == "config"]
            if not config:
                raise ValueError(f"{fqn}: no config parameter")
            out[kind][tf_type] = self.block(config[0]["type"]["fqn"], m.group(5))
        out["provider"], out["provider_version"] = provider, provider_version
        out["names"] = self.names
        return out


def extract(wheel: Path) -> dict:
    assembly = read_assembly(wheel)
    schema = Extractor(assembly).schema()
    m = re.match(r"(.+?)-(\d[^-]*)-", wheel.name)
    schema["package"], schema["version"] = m.group(1).replace("_", "-"), m.group(2)
    return schema


# -------------------------------------------------------------------------------------------------
# the check


def _is_block(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def _unquote(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == s[-1] == '"' else s


class Checker:
    """Checks parsed bodies (python-hcl2: blocks are lists of dicts marked `__is_block__`) against one
    schema; counts what it checked."""

    def __init__(self, schema: dict):
        self.schema = schema
        self.label = f"{schema['provider']} {schema['provider_version']} [{schema['package']} {schema['version']}]"
        self.resources = 0  # resource and data blocks
        self.blocks = 0  # those and every nested block (dynamic blocks' content included)
        self.arguments = 0  # every argument and nested block name met, meta-arguments excluded

    def body(self, body: dict, schema: dict, where: str, top: bool = False) -> list[str]:
        problems = []
        self.blocks += 1
        dynamic_blocks = set()
        present = set()
        for key, value in body.items():
            if key.startswith("__") and key.endswith("__"):
                continue
            if top and key in META_ARGUMENTS:
                continue
            if key == "dynamic" and isinstance(value, list):  # [{'"label"': {for_each, content: [...]}}]
                for dyn in value:
                    for label, spec in dyn.items():
                        if label.startswith("__"):
                            continue
                        name = _unquote(label)
                        dynamic_blocks.add(name)
                        self.arguments += 1
                        if name not in schema["blocks"]:
                            what = "an argument, not a block" if name in schema["attributes"] else "not a block of it"
                            problems.append(f"{where}: dynamic \"{name}\": {what} in {self.label}")
                            continue
                        for content in spec.get("content", []):
                            problems += self.body(content, schema["blocks"][name]["block"], f"{where}.{name}")
                continue
            present.add(key)
            self.arguments += 1
            if key in schema["attributes"]:
                spec = schema["attributes"][key]
                if _is_block(value) and "object" in spec:
                    for b in value:  # attributes as blocks: the content is still checked
                        problems += self.body(b, spec["object"], f"{where}.{key}")
                elif _is_block(value):
                    problems.append(f"{where}: \"{key}\" is an argument in {self.label}, written as a block (use {key} = ...)")
            elif key in schema["blocks"]:
                spec = schema["blocks"][key]
                if not _is_block(value):
                    problems.append(f"{where}: \"{key}\" is a block in {self.label}, written as an argument (use {key} {{ ... }})")
                    continue
                if spec["nesting"] == "single" and len(value) > 1:
                    problems.append(f"{where}: block \"{key}\" appears {len(value)} times, at most once in {self.label}")
                for b in value:
                    problems += self.body(b, spec["block"], f"{where}.{key}")
            else:
                kind = "block" if _is_block(value) else "argument"
                problems.append(f"{where}: unsupported {kind} \"{key}\": not in {self.label}")
        for name, spec in schema["attributes"].items():
            if spec["required"] and name not in present:
                problems.append(f"{where}: required argument \"{name}\" is missing: required by {self.label}")
        for name, spec in schema["blocks"].items():
            if spec["required"] and name not in present and name not in dynamic_blocks:
                problems.append(f"{where}: required block \"{name}\" is missing: required by {self.label}")
        return problems

    def resource(self, kind: str, type_: str, name: str, body: dict, where: str) -> list[str]:
        address = f"{where}: {'data.' if kind == 'data' else ''}{type_}.{name}"
        self.resources += 1
        schema = self.schema[kind].get(type_)
        if schema is None:
            what = "data source" if kind == "data" else "resource type"
            return [f"{address}: {what} {type_} does not exist in {self.label}"]
        return self.body(body, schema, address, top=True)


def main() -> None:
    wheel, out = Path(sys.argv[1]), Path(sys.argv[2])
    schema = extract(wheel)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(schema, separators=(",", ":")))
    tmp.replace(out)
    print(f"{out}: {schema['provider']} {schema['provider_version']}: {len(schema['resource'])} resources, "
          f"{len(schema['data'])} data sources; argument names from {schema['names']}")


def flatten(block: dict, prefix: str = "") -> dict[str, str]:
    """Every argument and nested block of a schema block, as dotted paths: "argument" or "block"."""
    out = {}
    for name in block["attributes"]:
        out[prefix + name] = "argument"
    for name, spec in block["blocks"].items():
        out[prefix + name] = "block"
        out.update(flatten(spec["block"], f"{prefix}{name}."))
    return out


if __name__ == "__main__":
    main()
