"""host.json's `extensionBundle`, checked as the Functions host reads it, for a Python v2 app with Durable.

On Azure the Durable triggers and the durable client come from the extension bundle named in host.json:

- azure-functions-host `ExtensionBundleConfigurationHelper.ConfigureBundleVersion` parses `version` with NuGet's
  `VersionRange.TryParse(version, allowFloating: true)`, and `ValidateBundleId` checks `id`; either failing is
  an `ArgumentException` and the host does not start. `ExtensionBundleManager.FindBestVersionMatch` then takes
  the highest bundle version the range `Satisfies`.
- The Python v2 programming model with Durable needs `azure-functions-durable` 1.2.2 or later and extension
  bundle 4.x (https://learn.microsoft.com/azure/azure-functions/durable/durable-functions-bindings, "Python v2
  programming model"); the host itself refuses bundles below 2.6.1 (`extensionrequirements.json`,
  `ScriptStartupTypeLocator.ValidateBundleRequirements`: a `HostInitializationException`).

So: a missing `extensionBundle` is a warning (on Azure the Durable triggers would not load; locally they run);
an `id` other than the bundle (or its Preview channel), a `version` that is not a NuGet range, or a range that
holds no 4.x bundle is an error that stops the start, with what to write instead, as on Azure a bundle the
host cannot use stops the host.

The range syntax (NuGet `VersionRange`): `1.0` (at least 1.0), `[1.0]` (exactly), `[1.0, 2.0)`, `(1.0,)`,
`(, 2.0]`, with a floating minimum `4.*` / `[4.*, 5.0.0)` (`*` means the lowest version of that prefix for
the bounds, NuGet `FloatRange`). Versions have up to four numbers and may carry `-prerelease` / `+metadata`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

BUNDLE_ID = "Microsoft.Azure.Functions.ExtensionBundle"
ACCEPTED_IDS = (BUNDLE_ID, f"{BUNDLE_ID}.Preview")
RECOMMENDED_RANGE = "[4.*, 5.0.0)"
RECOMMENDED = f'"extensionBundle": {{"id": "{BUNDLE_ID}", "version": "{RECOMMENDED_RANGE}"}}'
_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_FLOAT = re.compile(r"^(?:(\d+(?:\.\d+){0,3})\.)?\*$|^(\d+(?:\.\d+){0,3})-\*$")
Version = tuple[int, int, int, int]
DURABLE_BUNDLE_LOW: Version = (4, 0, 0, 0)
DURABLE_BUNDLE_HIGH: Version = (5, 0, 0, 0)  # exclusive: the 4.x bundles


class ExtensionBundleError(ValueError):
    """An extensionBundle the host cannot use."""


@dataclass(frozen=True)
class VersionRange:
    """A parsed NuGet range; None bounds are open."""

    text: str
    minimum: Version | None
    minimum_inclusive: bool
    maximum: Version | None
    maximum_inclusive: bool

    def satisfies(self, version: Version) -> bool:
        if self.minimum is not None and (version < self.minimum or (version == self.minimum
                                         and not self.minimum_inclusive)):
            return False
        return self.maximum is None or version < self.maximum or (version == self.maximum and self.maximum_inclusive)

    def holds_any_between(self, low: Version, high_exclusive: Version) -> bool:
        """Whether some version v with low <= v < high_exclusive satisfies the range."""
        if self.maximum is not None and (self.maximum < low or (self.maximum == low and not self.maximum_inclusive)):
            return False
        return self.minimum is None or self.minimum < high_exclusive


def parse_version(text: str) -> Version:
    match = _VERSION.match(text.strip())
    if not match:
        raise ExtensionBundleError(f"'{text.strip()}' is not a version")
    numbers = [int(part) if part is not None else 0 for part in match.groups()]
    return numbers[0], numbers[1], numbers[2], numbers[3]


def _parse_bound(text: str, *, floating: bool) -> Version:
    text = text.strip()
    if floating and "*" in text:
        match = _FLOAT.match(text)
        if not match:
            raise ExtensionBundleError(f"'{text}' is not a floating version (such as 4.* or 4.1.*)")
        prefix = match.group(1) or match.group(2)
        return parse_version(prefix) if prefix else (0, 0, 0, 0)
    return parse_version(text)


def parse_range(text: str) -> VersionRange:
    """NuGet `VersionRange.Parse(text, allowFloating: true)`; `ExtensionBundleError` when it does not parse."""
    value = text.strip()
    if not value:
        raise ExtensionBundleError("the range is empty")
    if value[0] not in "[(":
        return VersionRange(value, _parse_bound(value, floating=True), True, None, False)
    if value[-1] not in "])" or len(value) < 3:
        raise ExtensionBundleError(f"'{value}' opens with '{value[0]}' but does not close with ']' or ')'")
    low_inclusive, high_inclusive = value[0] == "[", value[-1] == "]"
    inner = value[1:-1]
    if "," not in inner:
        if not (low_inclusive and high_inclusive):
            raise ExtensionBundleError(f"'{value}': an exact version is written [1.0], with square brackets")
        exact = parse_version(inner)
        return VersionRange(value, exact, True, exact, True)
    low_text, _, high_text = inner.partition(",")
    if "," in high_text:
        raise ExtensionBundleError(f"'{value}' has more than two bounds")
    low = _parse_bound(low_text, floating=True) if low_text.strip() else None
    if "*" in high_text:
        raise ExtensionBundleError(f"'{value}': only the lower bound may float (4.*), the upper one is a version")
    high = parse_version(high_text) if high_text.strip() else None
    if low is None and high is None:
        raise ExtensionBundleError(f"'{value}' has no bound")
    closed = low_inclusive and high_inclusive
    if low is not None and high is not None and (high < low or (high == low and not closed)):
        raise ExtensionBundleError(f"'{value}' holds no version: its upper bound is below its lower bound")
    return VersionRange(value, low, low_inclusive, high, high_inclusive)


def check_extension_bundle(host_json_bundle: Any) -> list[str]:
    """Warnings for host.json's `extensionBundle` (the merged value); `ExtensionBundleError` for an error."""
    if host_json_bundle is None:
        return [f"host.json has no extensionBundle: on Azure the Durable triggers and the durable client would "
                f"not load. Add {RECOMMENDED}."]
    if not isinstance(host_json_bundle, dict):
        raise ExtensionBundleError(f"host.json extensionBundle must be an object: write {RECOMMENDED}.")
    fields = {str(key).lower(): value for key, value in host_json_bundle.items()}
    bundle_id, version = fields.get("id"), fields.get("version")
    if not bundle_id or str(bundle_id) not in ACCEPTED_IDS:
        raise ExtensionBundleError(
            f"host.json extensionBundle.id is {bundle_id!r}: the Durable Functions extension a Python v2 app uses "
            f"comes in the bundle '{BUNDLE_ID}'. Write {RECOMMENDED}.")
    if not version or not isinstance(version, str):
        raise ExtensionBundleError(f"host.json extensionBundle.version is missing: write {RECOMMENDED}.")
    try:
        bundle_range = parse_range(version)
    except ExtensionBundleError as error:
        raise ExtensionBundleError(f"host.json extensionBundle.version '{version}' is not a version range the "
                                   f"host can read ({error}). Write \"version\": \"{RECOMMENDED_RANGE}\".") from error
    if not bundle_range.holds_any_between(DURABLE_BUNDLE_LOW, DURABLE_BUNDLE_HIGH):
        raise ExtensionBundleError(
            f"host.json extensionBundle.version '{version}' holds no 4.x bundle: Durable Functions in the Python v2 "
            f"programming model needs extension bundle 4.x (and azure-functions-durable 1.2.2 or later). Write "
            f"\"version\": \"{RECOMMENDED_RANGE}\".")
    return []
