"""The robot vendors: one module each (its table: hosts, path, formats, signing, answer
codes, pace), registered here. A new vendor is one module and one entry in ``VENDORS``;
its key is what ``unit_channels.vendor`` stores."""

import enum
import re
from urllib.parse import urlsplit

from tracker.reminders.vendors import dingtalk, feishu, wecom
from tracker.reminders.vendors.table import RobotVendor

#: Every vendor by its key, in the order forms and messages list them.
VENDORS: dict[str, RobotVendor] = {v.key: v for v in (wecom.VENDOR, dingtalk.VENDOR,
                                                      feishu.VENDOR)}

#: Whose robot a webhook is (the values are the stored keys: ``Vendor.WECOM == "wecom"``).
Vendor = enum.StrEnum("Vendor", {key.upper(): key for key in VENDORS}, module=__name__)

#: Where a token sits in an address, for masking: the vendors' query parameters, and the
#: path segment after which a token ends the path (Feishu's ``/hook/``).
_TOKEN_PARAMS = {v.token_param for v in VENDORS.values() if v.token_param}
_TOKEN_IN_PATH = re.compile("(/(?:{})/)([^/]+)".format("|".join(sorted(
    re.escape(v.path.rstrip("/").rpartition("/")[2]) for v in VENDORS.values()
    if not v.token_param))))


def mask(url: str) -> str:
    """The address to show: scheme, host and path, the key or token cut to four characters."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "(not an address)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    path = _TOKEN_IN_PATH.sub(lambda m: m[1] + _cut(m[2]), parts.path)
    kept = [f"{name}={_cut(value)}" for name, _, value in
            (p.partition("=") for p in parts.query.split("&")) if name in _TOKEN_PARAMS]
    return f"{parts.scheme}://{host}{port}{path}" + (f"?{'&'.join(kept)}" if kept else "")


def _cut(secret: str) -> str:
    return secret[:4] + "…"


__all__ = ["VENDORS", "RobotVendor", "Vendor", "mask"]
