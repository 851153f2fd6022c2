"""host.json `extensionBundle`: NuGet version ranges read as the Functions host reads them, and the check that
the range can hold the 4.x bundle a Python v2 Durable app needs."""

from __future__ import annotations

import pytest

from durable_local.host.extension_bundle import ExtensionBundleError, check_extension_bundle, parse_range

BUNDLE = "Microsoft.Azure.Functions.ExtensionBundle"


@pytest.mark.parametrize(("text", "inside", "outside"), [
    ("[4.*, 5.0.0)", [(4, 0, 0, 0), (4, 26, 1, 0)], [(3, 99, 0, 0), (5, 0, 0, 0)]),
    ("[4.0.0, 5.0.0]", [(4, 0, 0, 0), (5, 0, 0, 0)], [(5, 0, 0, 1)]),
    ("(4.0, 5.0)", [(4, 0, 0, 1), (4, 9, 0, 0)], [(4, 0, 0, 0), (5, 0, 0, 0)]),
    ("4.2", [(4, 2, 0, 0), (9, 0, 0, 0)], [(4, 1, 9, 0)]),  # a bare version: at least that one
    ("4.*", [(4, 0, 0, 0), (6, 0, 0, 0)], [(3, 9, 0, 0)]),
    ("[4.1.*, 5.0.0)", [(4, 1, 0, 0), (4, 5, 0, 0)], [(4, 0, 9, 0)]),
    ("[4.3.0]", [(4, 3, 0, 0)], [(4, 3, 0, 1), (4, 2, 0, 0)]),
    ("(, 5.0.0)", [(0, 0, 0, 0), (4, 9, 9, 9)], [(5, 0, 0, 0)]),
    ("[*, 5.0.0)", [(0, 0, 0, 0)], [(5, 0, 0, 0)]),
    (" [ 4.* , 5.0.0 ) ", [(4, 0, 0, 0)], [(5, 0, 0, 0)]),
    ("[4.0.0-preview, 5.0.0)", [(4, 0, 0, 0)], [(5, 0, 0, 0)]),
])
def test_ranges_parse_as_nuget_version_ranges(text: str, inside: list[tuple[int, int, int, int]],
                                             outside: list[tuple[int, int, int, int]]) -> None:
    parsed = parse_range(text)
    assert all(parsed.satisfies(version) for version in inside)
    assert not any(parsed.satisfies(version) for version in outside)


@pytest.mark.parametrize("text", ["", "four", "[4.*, 5.*)", "(4.0)", "[4.0, 3.0)", "[4.0, 5.0", "[,]",
                                  "[1.0, 2.0, 3.0]", "4.x", "[4.0.0.0.0, 5.0)"])
def test_text_that_is_not_a_range_is_refused(text: str) -> None:
    with pytest.raises(ExtensionBundleError):
        parse_range(text)


@pytest.mark.parametrize("version", ["[4.*, 5.0.0)", "[3.3.0, 5.0.0)", "[4.26.0, 5.0.0)", "4.*", "[*, 4.0.1)"])
def test_a_range_that_holds_a_4x_bundle_passes(version: str) -> None:
    assert check_extension_bundle({"id": BUNDLE, "version": version}) == []


@pytest.mark.parametrize("version", ["[2.*, 3.0.0)", "[3.*, 4.0.0)", "[1.*, 2.0.0)", "[5.*, 6.0.0)", "(, 4.0.0)"])
def test_a_range_without_a_4x_bundle_is_an_error_saying_what_to_write(version: str) -> None:
    with pytest.raises(ExtensionBundleError, match=r"holds no 4\.x bundle.*Write \"version\": \"\[4\.\*, 5\.0\.0\)\""):
        check_extension_bundle({"id": BUNDLE, "version": version})


def test_a_wrong_id_or_a_missing_version_is_an_error_and_a_missing_bundle_a_warning() -> None:
    with pytest.raises(ExtensionBundleError, match=r"extensionBundle\.id is 'Microsoft\.Azure\.Functions\.Bundle'"):
        check_extension_bundle({"id": "Microsoft.Azure.Functions.Bundle", "version": "[4.*, 5.0.0)"})
    with pytest.raises(ExtensionBundleError, match="version is missing"):
        check_extension_bundle({"id": BUNDLE})
    with pytest.raises(ExtensionBundleError, match="is not a version range the host can read"):
        check_extension_bundle({"id": BUNDLE, "version": "latest"})
    assert check_extension_bundle({"id": f"{BUNDLE}.Preview", "version": "[4.29.0, 5.0.0)"}) == []
    (warning,) = check_extension_bundle(None)
    assert "no extensionBundle" in warning and "Durable triggers" in warning
