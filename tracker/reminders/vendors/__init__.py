"""The robot vendors: one module each (its table: hosts, path, formats, signing, answer
codes, pace), registered here. A new vendor is one module and one entry in ``VENDORS``;
its key is what ``unit_channels.vendor`` stores."""

import enum

from tracker.reminders.vendors import dingtalk, feishu, wecom
from tracker.reminders.vendors.table import RobotVendor

#: Every vendor by its key, in the order forms and messages list them.
VENDORS: dict[str, RobotVendor] = {v.key: v for v in (wecom.VENDOR, dingtalk.VENDOR,
                                                      feishu.VENDOR)}

#: Whose robot a webhook is (the values are the stored keys: ``Vendor.WECOM == "wecom"``).
Vendor = enum.StrEnum("Vendor", {key.upper(): key for key in VENDORS}, module=__name__)

__all__ = ["VENDORS", "RobotVendor", "Vendor"]
