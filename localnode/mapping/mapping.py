"""An index's mapping: the properties tree, its dynamic policy, and the flat table of field mappers.

Mappings only grow (``PUT _mapping`` is additive and dynamic mapping adds fields), so the object
keeps the JSON tree for ``GET _mapping`` and an index from full path to :class:`FieldMapper`.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

from localnode.errors import IllegalArgumentError, MapperParsingError
from localnode.mapping.fields import OBJECT, AnalyzerCheck, FieldMapper, build_field_mapper

_ROOT_PARAMS = {"properties", "dynamic", "_source", "_meta", "date_detection", "numeric_detection",
                "dynamic_templates", "_routing", "_all"}
_OBJECT_PARAMS = {"type", "properties", "dynamic", "enabled"}


class Mapping:
    def __init__(self, definition: dict[str, Any] | None, *, knn_enabled: bool,
                 analyzers: AnalyzerCheck) -> None:
        self.knn_enabled = knn_enabled
        self.analyzers = analyzers
        self.properties: dict[str, Any] = {}
        self.dynamic: str = "true"
        self.date_detection = True
        self.meta: dict[str, Any] | None = None
        self.source_enabled = True
        self.fields: dict[str, FieldMapper] = {}
        self.objects: dict[str, dict[str, Any]] = {}  # path -> {"dynamic": ..., "enabled": ...}
        if definition:
            self.merge(definition)

    # -- definition ---------------------------------------------------------------------------
    def merge(self, definition: dict[str, Any]) -> None:
        """Apply a mapping body (create index or PUT _mapping): new fields are added, none changed."""
        if not isinstance(definition, dict):
            raise MapperParsingError("Root mapping definition must be an object")
        if "_doc" in definition and isinstance(definition["_doc"], dict) and len(definition) == 1:
            definition = definition["_doc"]
        unknown = [k for k in definition if k not in _ROOT_PARAMS]
        if unknown:
            raise MapperParsingError(
                f"Root mapping definition has unsupported parameters:  [{', '.join(f'{k} : {definition[k]}' for k in unknown)}]")
        if "dynamic_templates" in definition and definition["dynamic_templates"]:
            raise MapperParsingError("dynamic_templates are not supported by the embedded engine (localnode)")
        if "dynamic" in definition:
            self.dynamic = _dynamic_value(definition["dynamic"])
        if "date_detection" in definition:
            self.date_detection = bool(definition["date_detection"])
        if "_meta" in definition:
            self.meta = definition["_meta"]
        if "_source" in definition:
            source = definition["_source"]
            if isinstance(source, dict) and source.get("enabled") is False:
                raise MapperParsingError("_source disabled is not supported by the embedded engine (localnode)")
        properties = definition.get("properties", {})
        if not isinstance(properties, dict):
            raise MapperParsingError("Expected map for property [properties]")
        staged_fields = dict(self.fields)
        staged_objects = copy.deepcopy(self.objects)
        staged_tree = copy.deepcopy(self.properties)
        self._merge_properties(staged_tree, properties, "", staged_fields, staged_objects)
        self.fields, self.objects, self.properties = staged_fields, staged_objects, staged_tree

    def _merge_properties(self, tree: dict[str, Any], properties: dict[str, Any], prefix: str,
                          fields: dict[str, FieldMapper], objects: dict[str, dict[str, Any]]) -> None:
        for name, definition in properties.items():
            if not isinstance(name, str) or not name or name.startswith(".") or name.endswith("."):
                raise MapperParsingError(f"Invalid field name [{name}]")
            if "." in name:  # "a.b": {...} is shorthand for nested objects
                head, rest = name.split(".", 1)
                self._merge_properties(tree, {head: {"properties": {rest: definition}}}, prefix, fields, objects)
                continue
            if not isinstance(definition, dict):
                raise MapperParsingError(f"Expected map for property [fields] on field [{name}] but got a class java.lang.String")
            path = prefix + name
            is_object = definition.get("type", OBJECT if "properties" in definition else None) == OBJECT \
                or ("type" not in definition and "properties" in definition)
            if is_object:
                if path in fields:
                    raise IllegalArgumentError(f"can't merge a non object mapping [{path}] with an object mapping")
                unknown = [k for k in definition if k not in _OBJECT_PARAMS]
                if unknown:
                    raise MapperParsingError(
                        f"Mapping definition for [{name}] has unsupported parameters:  [{', '.join(f'{k} : {definition[k]}' for k in unknown)}]")
                node = tree.setdefault(name, {"properties": {}})
                if "type" in node and node["type"] != OBJECT:
                    raise IllegalArgumentError(f"can't merge a non object mapping [{path}] with an object mapping")
                node.setdefault("properties", {})
                info = objects.setdefault(path, {})
                if "dynamic" in definition:
                    info["dynamic"] = _dynamic_value(definition["dynamic"])
                    node["dynamic"] = definition["dynamic"]
                if "enabled" in definition:
                    info["enabled"] = bool(definition["enabled"])
                    node["enabled"] = definition["enabled"]
                self._merge_properties(node["properties"], definition.get("properties", {}), path + ".",
                                       fields, objects)
                continue
            if path in objects:
                raise IllegalArgumentError(f"can't merge a non object mapping [{path}] with an object mapping")
            mapper = build_field_mapper(path, definition, knn_enabled=self.knn_enabled, analyzers=self.analyzers)
            existing = fields.get(path)
            if existing is not None:
                _check_compatible(existing, mapper)
                for sub_name, sub in mapper.multi_fields.items():
                    if sub_name not in existing.multi_fields:
                        existing.multi_fields[sub_name] = sub
                        fields[sub.path] = sub
                tree[name] = existing.to_mapping()
                continue
            fields[path] = mapper
            for sub in mapper.multi_fields.values():
                fields[sub.path] = sub
            tree[name] = mapper.to_mapping()

    # -- lookups --------------------------------------------------------------------------------
    def field(self, path: str) -> FieldMapper | None:
        return self.fields.get(path)

    def object_dynamic(self, object_path: str) -> str:
        """The effective ``dynamic`` policy inside an object (inherited from the closest parent)."""
        path = object_path
        while path:
            info = self.objects.get(path)
            if info and "dynamic" in info:
                return info["dynamic"]
            path = path.rpartition(".")[0]
        return self.dynamic

    def object_enabled(self, object_path: str) -> bool:
        info = self.objects.get(object_path)
        return True if info is None else info.get("enabled", True)

    def leaf_fields(self) -> Iterator[FieldMapper]:
        return iter(self.fields.values())

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.dynamic != "true":
            body["dynamic"] = self.dynamic
        if self.meta is not None:
            body["_meta"] = self.meta
        if self.properties:
            body["properties"] = copy.deepcopy(self.properties)
        return body


def _dynamic_value(value: Any) -> str:
    text = str(value).lower() if isinstance(value, (str, bool)) else None
    if text not in ("true", "false", "strict"):
        raise MapperParsingError(f"Could not convert [dynamic] to boolean or 'strict': [{value}]")
    return text


def _check_compatible(existing: FieldMapper, new: FieldMapper) -> None:
    if existing.type != new.type:
        raise IllegalArgumentError(
            f"mapper [{existing.path}] cannot be changed from type [{existing.type}] to [{new.type}]")
    for key in ("analyzer", "search_analyzer"):
        if key in new.params and new.params.get(key) != existing.params.get(key, "standard"):
            raise IllegalArgumentError(
                f"Mapper for [{existing.path}] conflicts with existing mapper:\n"
                f"\tCannot update parameter [{key}] from [{existing.params.get(key, 'default')}] to [{new.params[key]}]")
    if new.type == "knn_vector" and existing.params != new.params:
        raise IllegalArgumentError(f"Mapper for [{existing.path}] conflicts with existing mapper")
