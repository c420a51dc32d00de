#!/usr/bin/env python3
"""Validates FHIR JSON files against the R4 specification: python3 scripts/validate-fhir.py FILE...

Each file is parsed with fhir.resources' R4B models (R4B keeps R4's DocumentReference and
Bundle: elements, types, cardinalities, no unknown elements), then the required value-set
bindings fhir.resources does not check are checked here (DocumentReference.status and
docStatus, Bundle.type, Bundle.entry.search.mode, Attachment.contentType and hash), for
Bundles in every entry's resource too. Prints one line per file; exits 1 naming the first
error of each invalid file, 2 when fhir.resources is not installed
(scripts/install-deps.sh --test installs it).
"""

import base64
import binascii
import json
import re
import sys

try:
    from fhir.resources.R4B import get_fhir_model_class
except ImportError:
    sys.stderr.write(
        "validate-fhir: the fhir.resources package is missing "
        "(scripts/install-deps.sh --test installs it)\n"
    )
    sys.exit(2)

# Required bindings (R4): http://hl7.org/fhir/R4/documentreference.html, bundle.html.
DOC_STATUS = {"current", "superseded", "entered-in-error"}
COMPOSITION_STATUS = {"preliminary", "final", "amended", "entered-in-error"}
BUNDLE_TYPE = {
    "document", "message", "transaction", "transaction-response", "batch",
    "batch-response", "history", "searchset", "collection",
}
SEARCH_MODE = {"match", "include", "outcome"}
MIME = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+(\s*;.*)?$", re.I)


def bindings(resource, where):
    """The required bindings' errors of one resource (and a Bundle's entries)."""
    errors = []
    kind = resource.get("resourceType")
    if kind == "DocumentReference":
        if resource.get("status") not in DOC_STATUS:
            errors.append(f"{where}.status {resource.get('status')!r} is not in {sorted(DOC_STATUS)}")
        if "docStatus" in resource and resource["docStatus"] not in COMPOSITION_STATUS:
            errors.append(f"{where}.docStatus {resource['docStatus']!r} is not a composition status")
        for i, content in enumerate(resource.get("content", [])):
            att = content.get("attachment", {})
            if "contentType" in att and not MIME.match(att["contentType"]):
                errors.append(f"{where}.content[{i}].attachment.contentType is not a media type")
            if "hash" in att:
                try:
                    digest = base64.b64decode(att["hash"], validate=True)
                except (binascii.Error, ValueError):
                    digest = b""
                if len(digest) != 20:
                    errors.append(f"{where}.content[{i}].attachment.hash is not a base64 SHA-1")
    elif kind == "Bundle":
        if resource.get("type") not in BUNDLE_TYPE:
            errors.append(f"{where}.type {resource.get('type')!r} is not a bundle type")
        for i, entry in enumerate(resource.get("entry", [])):
            mode = entry.get("search", {}).get("mode")
            if mode is not None and mode not in SEARCH_MODE:
                errors.append(f"{where}.entry[{i}].search.mode {mode!r} is not a search mode")
            if "resource" in entry:
                errors += bindings(entry["resource"], f"{where}.entry[{i}].resource")
    return errors


def validate(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    kind = data.get("resourceType") if isinstance(data, dict) else None
    if not kind:
        return ["no resourceType"]
    try:
        model = get_fhir_model_class(kind)
    except Exception as e:  # an unknown resource type
        return [f"resourceType {kind!r}: {e}"]
    try:
        model.model_validate(data)
    except Exception as e:
        return [str(e)]
    return bindings(data, kind)


def main(paths):
    if not paths:
        sys.stderr.write(__doc__)
        return 2
    failed = False
    for path in paths:
        errors = validate(path)
        if errors:
            failed = True
            print(f"{path}: INVALID")
            for e in errors:
                print(f"  {e}")
        else:
            print(f"{path}: valid FHIR R4")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
