"""Rules for values that type-check but that AWS refuses halfway through a deploy.

Each rule mirrors one refusal of an AWS API: an instance type the API does not offer, a region that
does not exist, a tag AWS will not store, a CIDR block a VPC cannot have, a schedule EventBridge cannot
parse, a derived physical name over the API's length or outside its pattern. Where botocore's API model
states the constraint, it is read from there (:mod:`mlplatform.spec.awsmodel`); the rest are AWS's
documented rules. Every refusal is a :class:`~pydantic_core.PydanticCustomError` of type ``refused``
with a ``reason`` and what is ``allowed``, which :mod:`mlplatform.spec.problems` shows as the problem's
``problem:`` and ``allowed:`` lines.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic_core import PydanticCustomError

from mlplatform.spec import awsmodel, tagging
from mlplatform.spec.awsmodel import ApiMember

Loc = tuple[str | int, ...]


def refused(reason: str, allowed: str | None = None) -> PydanticCustomError:
    """The error a rule raises: ``reason`` says what is wrong, ``allowed`` what would be accepted."""
    return PydanticCustomError("refused", "{reason}", {"reason": reason, "allowed": allowed or ""})


@dataclass(frozen=True)
class Finding:
    """A refusal found by a rule that checks several values at once, at the field the user should edit."""

    loc: Loc
    reason: str
    value: object
    allowed: str | None = None


def closest(value: str, choices: Sequence[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``choices`` that look most like ``value`` (difflib), best first."""
    return difflib.get_close_matches(value, choices, n=n, cutoff=0.6) or difflib.get_close_matches(
        value, choices, n=n, cutoff=0.0
    )


# ---------------------------------------------------------------------------------------------------
# Instance types
# ---------------------------------------------------------------------------------------------------


def instance_type_check(api: ApiMember) -> Callable[[str], str]:
    """A validator: the value must be one of the instance types ``api`` accepts in botocore's model."""

    def check(value: str) -> str:
        problem = instance_type_problem(value, api)
        if problem is not None:
            raise refused(*problem)
        return value

    return check


def instance_type_problem(value: str, api: ApiMember) -> tuple[str, str] | None:
    """``(reason, allowed)`` when ``api`` does not accept the instance type ``value``, else ``None``."""
    accepted = awsmodel.constraint(api)
    if value in accepted.enum:
        return None
    where = accepted.describe()
    return (
        f"{where} does not accept this instance type",
        f"one of the {len(accepted.enum)} {accepted.shape} values in botocore {awsmodel.botocore_version()}'s "
        f"model; closest: {', '.join(closest(value, accepted.enum))}",
    )


# ---------------------------------------------------------------------------------------------------
# Regions
# ---------------------------------------------------------------------------------------------------


def check_region(value: str) -> str:
    """A validator: ``value`` must be a region of one of botocore's partitions."""
    if awsmodel.partition_of(value) is not None:
        return value
    known = awsmodel.all_regions()
    guess = difflib.get_close_matches(value.lower(), known, n=1, cutoff=0.6)
    hint = f"did you mean {guess[0]!r}? " if guess else ""
    partitions = ", ".join(p.name for p in awsmodel.partitions())
    raise refused(
        f"not an AWS region (botocore {awsmodel.botocore_version()} knows the regions of partitions {partitions}; "
        "a region newer than that needs a newer botocore)",
        f"{hint}one of {', '.join(known)}",
    )


# ---------------------------------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------------------------------

_TAG_PUNCTUATION = frozenset("_.:/=+-@")
TAG_CHARACTERS = "letters, digits, spaces and _ . : / = + - @"


def _tag_text_ok(text: str) -> bool:
    # AWS's pattern is [\p{L}\p{Z}\p{N}_.:/=+\-@]*: Unicode letters, separators (spaces) and numbers.
    return all(unicodedata.category(ch)[0] in "LZN" or ch in _TAG_PUNCTUATION for ch in text)


def _tag_text_problem(text: str) -> str:
    bad = sorted({ch for ch in text if not _tag_text_ok(ch)})
    return f"it contains {', '.join(repr(ch) for ch in bad)}" if bad else f"it is {len(text)} characters long"


def tag_findings(tags: dict[str, str]) -> list[Finding]:
    """Every tag AWS would refuse, or mlplatform would silently overwrite, and a count over the limit.

    The limits come from SageMaker's tag shapes in botocore (the same as IAM's, EC2's and most
    services'); the count includes the keys mlplatform adds itself (:data:`tagging.OWN_KEYS`).
    """
    key_rule = awsmodel.constraint(awsmodel.TAG_KEY)
    value_rule = awsmodel.constraint(awsmodel.TAG_VALUE)
    most = awsmodel.constraint(awsmodel.TAGS).max or 50
    own = tagging.OWN_KEYS
    findings: list[Finding] = []
    key_max, value_max = key_rule.max or 128, value_rule.max or 256
    key_allowed = f"1-{key_max} {TAG_CHARACTERS}, not starting with 'aws:'"
    for key, value in tags.items():
        where: Loc = ("tags", key)
        if not 1 <= len(key) <= key_max or not _tag_text_ok(key):
            findings.append(Finding(where, f"AWS refuses this tag key: {_tag_text_problem(key)}", key, key_allowed))
        elif key.lower().startswith("aws:"):
            findings.append(Finding(where, "the tag key prefix 'aws:' is reserved for AWS", key, key_allowed))
        elif key in own or key.startswith(tagging.RESERVED_PREFIX):
            findings.append(
                Finding(
                    where,
                    f"mlplatform sets the tag {key!r} itself and would overwrite yours",
                    key,
                    f"any key but {', '.join(own)} and keys starting with {tagging.RESERVED_PREFIX!r}",
                )
            )
        if len(value) > value_max or not _tag_text_ok(value):
            findings.append(
                Finding(
                    where,
                    f"AWS refuses this tag value: {_tag_text_problem(value)}",
                    value,
                    f"0-{value_max} {TAG_CHARACTERS}",
                )
            )
        elif value.lower().startswith("aws:"):
            findings.append(
                Finding(where, "tag values starting with 'aws:' are reserved for AWS", value, "a value without it")
            )
    if len(tags) + len(own) > most:
        findings.append(
            Finding(
                ("tags",),
                f"{len(tags)} tags plus the {len(own)} mlplatform adds ({', '.join(own)}) exceed AWS's limit of "
                f"{most} tags per resource",
                len(tags),
                f"at most {most - len(own)} tags",
            )
        )
    return findings


# ---------------------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------------------

VPC_PREFIX = (16, 28)
"""The netmasks a VPC's IPv4 block may have (CreateVpc)."""

_RESTRICTED = {
    "0.0.0.0/8": "'this network'",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
}


def check_vpc_cidr(value: str) -> str:
    """A validator: ``value`` must be an IPv4 network address with a /16 to /28 mask, outside reserved ranges."""
    allowed = "an IPv4 network address from /16 to /28, such as 10.20.0.0/16"
    try:
        network = ipaddress.IPv4Network(value, strict=False)
    except ValueError as exc:
        raise refused(f"not an IPv4 CIDR block ({exc})", allowed) from None
    if str(network) != value:
        raise refused(
            f"host bits are set: {value} is inside the network {network}, which is what a VPC takes",
            f"{network} (the network address); in general {allowed}",
        )
    low, high = VPC_PREFIX
    if not low <= network.prefixlen <= high:
        raise refused(f"a VPC's block must be /{low} to /{high}, not /{network.prefixlen}", allowed)
    for block, kind in _RESTRICTED.items():
        if network.subnet_of(ipaddress.IPv4Network(block)):
            raise refused(f"{block} is a {kind} range, which AWS does not allow in a VPC", allowed)
    return value


def subnet_cidrs(cidr_block: str, count: int) -> list[str]:
    """``count`` equal private subnets carved from the start of ``cidr_block`` (room left for more).

    Fewer come back when the block is too small: :func:`subnet_findings` reports that before deploying.
    """
    network = ipaddress.ip_network(cidr_block)
    # Split into 8 (at least 2 more bits than needed for 6 AZs would be wasteful at /28): /16 -> /19 subnets.
    new_prefix = min(network.prefixlen + 3, VPC_PREFIX[1])
    return [str(subnet) for subnet in list(network.subnets(new_prefix=new_prefix))[:count]]


def subnet_findings(cidr_block: str, zones: int) -> list[Finding]:
    """The private subnets the network derives must all fit in the VPC (one per availability zone)."""
    subnets = subnet_cidrs(cidr_block, zones)
    if len(subnets) >= zones:
        return []
    size = subnets[0].split("/")[1] if subnets else "?"
    return [
        Finding(
            ("availability_zones",),
            f"the VPC block {cidr_block} holds only {len(subnets)} private /{size} subnet(s) (a subnet is at "
            f"most /{VPC_PREFIX[1]}), one per availability zone",
            zones,
            f"at most {len(subnets)} availability zone(s) for {cidr_block}, or a larger cidr_block",
        )
    ]


# ---------------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------------

SCHEDULE_ALLOWED = (
    "rate(<n> minute|minutes|hour|hours|day|days), singular when n is 1, e.g. rate(1 day) or rate(12 hours); or "
    "cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>), e.g. cron(0 3 * * ? *)"
)
_RATE = re.compile(r"rate\((\d+) ([a-z]+)\)")
_MONTHS = {name: index for index, name in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN"), 1)} | {
    name: index for index, name in enumerate(("JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 7)
}
_DAYS = {name: index for index, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}


@dataclass(frozen=True)
class _CronField:
    name: str
    low: int
    high: int
    names: dict[str, int]


_CRON_FIELDS = (
    _CronField("minutes", 0, 59, {}),
    _CronField("hours", 0, 23, {}),
    _CronField("day-of-month", 1, 31, {}),
    _CronField("month", 1, 12, _MONTHS),
    _CronField("day-of-week", 1, 7, _DAYS),
    _CronField("year", 1970, 2199, {}),
)


def check_schedule(value: str) -> str:
    """A validator: ``value`` must be an EventBridge ``rate(...)`` or 6-field ``cron(...)`` expression."""
    problem = schedule_problem(value)
    if problem is not None:
        raise refused(f"EventBridge would refuse this schedule: {problem}", SCHEDULE_ALLOWED)
    return value


def schedule_problem(value: str) -> str | None:
    """Why EventBridge would refuse ``value``, or ``None`` when it is a valid schedule expression."""
    if value.startswith("rate("):
        match = _RATE.fullmatch(value)
        if match is None:
            return "a rate is rate(<n> <unit>) with one space"
        amount, unit = match.groups()
        if amount.startswith("0"):
            return "the rate must be a positive whole number without leading zeros"
        if len(amount) > 9:
            return "the rate is too large"
        if unit.rstrip("s") not in ("minute", "hour", "day"):
            return f"unknown unit {unit!r} (minute, hour or day)"
        singular = unit in ("minute", "hour", "day")
        if (amount == "1") != singular:
            return "use the singular unit exactly when the value is 1 (rate(1 day), rate(2 days))"
        return None
    if value.startswith("cron(") and value.endswith(")"):
        return _cron_problem(value[5:-1])
    return "a schedule starts with rate( or cron("


def _cron_problem(body: str) -> str | None:
    fields = body.split(" ")
    if len(fields) != 6 or not all(fields):
        return f"a cron expression has 6 fields separated by single spaces, not {len(body.split())}"
    for field, text in zip(_CRON_FIELDS, fields, strict=True):
        problem = _cron_field_problem(field, text)
        if problem is not None:
            return f"{field.name} {text!r}: {problem}"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return None


def _cron_field_problem(field: _CronField, text: str) -> str | None:
    if text == "*":
        return None
    if text == "?":
        return None if field.name in ("day-of-month", "day-of-week") else "'?' is only for the day fields"
    if field.name == "day-of-month" and re.fullmatch(r"L|LW|\d{1,2}W", text):
        day = text[:-1]
        return None if not day.isdigit() or 1 <= int(day) <= 31 else "W needs a day from 1 to 31"
    if field.name == "day-of-week":
        special = re.fullmatch(r"(\w+)(L|#([1-5]))", text)
        if text == "L":
            return None
        if special is not None:
            return _cron_value_problem(field, special.group(1))
    for item in text.split(","):
        base, slash, step = item.partition("/")
        if slash and not (step.isdigit() and 1 <= int(step) <= field.high):
            return f"the step {step!r} must be a number from 1 to {field.high}"
        if base == "*" and slash:
            continue
        low, dash, high = base.partition("-")
        for part in (low, high) if dash else (low,):
            problem = _cron_value_problem(field, part)
            if problem is not None:
                return problem
        if dash and _cron_value(field, low) > _cron_value(field, high):
            return f"the range {base!r} runs backwards"
    return None


def _cron_value(field: _CronField, text: str) -> int:
    return field.names[text.upper()] if text.upper() in field.names else int(text)


def _cron_value_problem(field: _CronField, text: str) -> str | None:
    if text.upper() in field.names:
        return None
    if not text.isdigit():
        names = f" or {next(iter(field.names))}-{list(field.names)[-1]}" if field.names else ""
        return f"{text!r} is not a value ({field.low}-{field.high}{names}); wildcards are , - * /"
    if not field.low <= int(text) <= field.high:
        return f"{text} is outside {field.low}-{field.high}"
    return None


# ---------------------------------------------------------------------------------------------------
# Physical names
# ---------------------------------------------------------------------------------------------------


def member_check(api: ApiMember, what: str, *, pattern: bool = True) -> Callable[[str], str]:
    """A validator: the value goes to AWS as ``api`` unchanged and must fit its length (and ``pattern``)."""

    def check(value: str) -> str:
        rule = awsmodel.constraint(api)
        if not pattern:
            rule = dataclasses.replace(rule, pattern=None)
        limits = " and ".join(
            part
            for part in (
                f"at most {rule.max} characters" if rule.max is not None else "",
                f"matching {rule.pattern}" if rule.pattern else "",
            )
            if part
        )
        if rule.max is not None and len(value) > rule.max:
            raise refused(f"{len(value)} characters; {rule.describe()} takes at most {rule.max}", f"{what}: {limits}")
        if rule.pattern and re.fullmatch(rule.pattern, value) is None:
            raise refused(f"{rule.describe()} refuses it", f"{what}: {limits}")
        return value

    return check


S3_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
"""Prefixes S3 reserves: no bucket name may start with them (the platform name starts every bucket name)."""


def name_problem(physical: str, api: ApiMember, template: str) -> tuple[str, str] | None:
    """``(reason, allowed)`` when ``api`` would refuse the physical name ``physical``, else ``None``.

    ``template`` says how the name is made (``<platform>-<endpoint>``), for the message.
    """
    rule = awsmodel.constraint(api)
    limits = []
    if rule.max is not None:
        limits.append(f"at most {rule.max} characters")
    if rule.pattern:
        limits.append(f"the pattern {rule.pattern}")
    allowed = f"names for which {template} has {' and '.join(limits) or 'what AWS accepts'}"
    if rule.max is not None and len(physical) > rule.max:
        return f"becomes {physical!r} ({len(physical)} characters), longer than {rule.describe()} allows", allowed
    if rule.min is not None and len(physical) < rule.min:
        return f"becomes {physical!r}, shorter than {rule.describe()} allows", allowed
    if rule.pattern and re.fullmatch(rule.pattern, physical) is None:
        return f"becomes {physical!r}, which {rule.describe()} refuses", allowed
    return None
