"""The tag address space as the specification says it must look, built from a configuration
(no gateway involved), and a dump of what a server really serves, to compare the two.

The reference is what fxgate served when every tag was a materialised node in async-opcua's
address space: a folder per source path (Organizes from its parent, FolderType), a variable per
tag (HasComponent from its folder; NodeId `ns=<tags>;s=<source>/<name>`, BrowseName in the tags
namespace), and the DA properties of typed items (HasProperty, PropertyType, BrowseName in
namespace 0, NodeId `<tag path>/<Property>`). Every attribute 1..27 of every node is listed:
its value, or the status code a Read answers for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asyncua import Client, ua

# Data types of the tag `type` names the tests use.
DATA_TYPE = {"Boolean": 1, "Int32": 6, "UInt32": 7, "Float": 10, "Double": 11, "String": 12}
# VariableTypes of typed items (OPC 10000-8 A.3.1 as fxgate maps metadata).
BASE_DATA_VARIABLE, DATA_ITEM, BASE_ANALOG, ANALOG_ITEM = 63, 2365, 15318, 2368
TWO_STATE, MULTI_STATE, PROPERTY_TYPE, FOLDER_TYPE = 2373, 2376, 68, 61
ORGANIZES, HAS_COMPONENT, HAS_PROPERTY, HAS_TYPE_DEFINITION = 35, 47, 46, 40
OBJECTS = 85
LOCALIZED_TEXT, RANGE, EU_INFORMATION = 21, 884, 887


@dataclass
class Expected:
    """One node: its NodeId string (tags namespace), class, attributes and references."""

    node_id: str
    node_class: int
    browse_name: tuple[str, str]  # ("tags" | "0", name)
    attributes: dict[str, Any] = field(default_factory=dict)
    # (reference type, is_forward, target): target is ("tags", id) or ("0", numeric id)
    references: set[tuple[int, bool, tuple[str, Any]]] = field(default_factory=set)


def _properties(tag: dict) -> list[tuple[str, int, int]]:
    """(name, data type, value rank) of the DA properties a tag's metadata makes."""
    if tag.get("enum_strings"):
        return [("EnumStrings", LOCALIZED_TEXT, 1)]
    if "open_label" in tag or "close_label" in tag:
        return [("TrueState", LOCALIZED_TEXT, -1), ("FalseState", LOCALIZED_TEXT, -1)]
    out = []
    if "eu_low" in tag:
        out.append(("EURange", RANGE, -1))
    if "eu_units" in tag:
        out.append(("EngineeringUnits", EU_INFORMATION, -1))
    if "instrument_low" in tag:
        out.append(("InstrumentRange", RANGE, -1))
    return out


def _item_type(tag: dict) -> int:
    if tag.get("enum_strings"):
        return MULTI_STATE
    if "open_label" in tag or "close_label" in tag:
        return TWO_STATE
    if "eu_low" in tag:
        return ANALOG_ITEM
    if "eu_units" in tag or "instrument_low" in tag:
        return BASE_ANALOG
    if "scan_rate" in tag or "description" in tag:
        return DATA_ITEM
    return BASE_DATA_VARIABLE


def reference(folders: dict[str, list[dict]], may_write: bool) -> dict[str, Expected]:
    """The expected nodes for `folders` (source path → its tags, as in a simulator's config),
    keyed by NodeId string, as a user who may (`may_write`) or may not write sees them. Every
    source path's parents are folders too. Attributes a node does not have (WriteMask,
    ArrayDimensions of a scalar, a description never given, a property's
    MinimumSamplingInterval) are absent: a Read answers BadAttributeIdInvalid."""
    nodes: dict[str, Expected] = {}

    def folder(path: str) -> None:
        if path in nodes:
            return
        parent, _, name = path.rpartition("/")
        if parent:
            folder(parent)
        e = Expected(path, 1, ("tags", name))
        e.attributes = {"NodeClass": 1, "BrowseName": ("tags", name), "DisplayName": name,
                        "Description": "BadAttributeIdInvalid", "EventNotifier": 0}
        e.references.add((HAS_TYPE_DEFINITION, True, ("0", FOLDER_TYPE)))
        up = ("tags", parent) if parent else ("0", OBJECTS)
        e.references.add((ORGANIZES, False, up))
        if parent:
            nodes[parent].references.add((ORGANIZES, True, ("tags", path)))
        nodes[path] = e

    for source, tags in folders.items():
        folder(source)
        for tag in tags:
            path = f"{source}/{tag['name']}"
            writable = tag.get("writable", False)
            access = 3 if writable else 1
            v = Expected(path, 2, ("tags", tag["name"]))
            v.attributes = {
                "NodeClass": 2, "BrowseName": ("tags", tag["name"]), "DisplayName": tag["name"],
                "Description": tag.get("description", "BadAttributeIdInvalid"),
                "DataType": DATA_TYPE[tag["type"]], "ValueRank": -1,
                "AccessLevel": access, "UserAccessLevel": access if may_write else 1,
                "MinimumSamplingInterval": float(tag.get("scan_rate", 0.0)), "Historizing": False,
            }
            v.references.add((HAS_TYPE_DEFINITION, True, ("0", _item_type(tag))))
            v.references.add((HAS_COMPONENT, False, ("tags", source)))
            nodes[source].references.add((HAS_COMPONENT, True, ("tags", path)))
            nodes[path] = v
            for name, data_type, rank in _properties(tag):
                pid = f"{path}/{name}"
                p = Expected(pid, 2, ("0", name))
                p.attributes = {
                    "NodeClass": 2, "BrowseName": ("0", name), "DisplayName": name,
                    "Description": "BadAttributeIdInvalid", "DataType": data_type, "ValueRank": rank,
                    "AccessLevel": 1, "UserAccessLevel": 1, "Historizing": False,
                }
                p.references.add((HAS_TYPE_DEFINITION, True, ("0", PROPERTY_TYPE)))
                p.references.add((HAS_PROPERTY, False, ("tags", path)))
                v.references.add((HAS_PROPERTY, True, ("tags", pid)))
                nodes[pid] = p
    return nodes


def _plain(value: Any) -> Any:
    """A read value in the reference's terms."""
    if isinstance(value, ua.QualifiedName):
        return (value.NamespaceIndex, value.Name)
    if isinstance(value, ua.LocalizedText):
        return value.Text
    if isinstance(value, ua.NodeId):
        return value.Identifier if value.NamespaceIndex == 0 else (value.NamespaceIndex, value.Identifier)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


async def read_attributes(client: Client, ns: int, node_id: str, names: list[str]) -> dict[str, Any]:
    """Every attribute in `names` of one node, in one Read: the value, or the status name."""
    params = ua.ReadParameters()
    for name in names:
        rv = ua.ReadValueId()
        rv.NodeId = ua.NodeId(node_id, ns)
        rv.AttributeId = getattr(ua.AttributeIds, name)
        params.NodesToRead.append(rv)
    results = await client.uaclient.read(params)
    out = {}
    for name, dv in zip(names, results):
        if not dv.StatusCode.is_good():
            out[name] = dv.StatusCode.name
        elif name == "Value":
            out[name] = dv.Value.Value
        else:
            out[name] = _plain(dv.Value.Value)
    return out


async def browse_all(client: Client, ns: int, node: ua.NodeId) -> list[ua.ReferenceDescription]:
    """Both directions, every reference type, following continuation points."""
    desc = ua.BrowseDescription()
    desc.NodeId = node
    desc.BrowseDirection = ua.BrowseDirection.Both
    desc.ReferenceTypeId = ua.NodeId(ua.ObjectIds.References)
    desc.IncludeSubtypes = True
    desc.NodeClassMask = 0
    desc.ResultMask = ua.BrowseResultMask.All
    params = ua.BrowseParameters()
    params.NodesToBrowse.append(desc)
    params.View.Timestamp = ua.get_win_epoch()
    params.RequestedMaxReferencesPerNode = 0
    results = await client.uaclient.browse(params)
    refs = list(results[0].References)
    cp = results[0].ContinuationPoint
    while cp:
        nxt = await client.uaclient.browse_next(ua.BrowseNextParameters(ReleaseContinuationPoints=False,
                                                                        ContinuationPoints=[cp]))
        refs.extend(nxt[0].References)
        cp = nxt[0].ContinuationPoint
    return refs


def ref_key(ns: int, r: ua.ReferenceDescription) -> tuple[int, bool, tuple[str, Any]]:
    target = r.NodeId
    t = ("tags", target.Identifier) if target.NamespaceIndex == ns else (str(target.NamespaceIndex), target.Identifier)
    return (r.ReferenceTypeId.Identifier, r.IsForward, t)
