"""Tags and custom-field definitions over the JSON API."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from amity.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    InputSchema,
    created,
    enum_of,
    list_schema,
    no_content,
)
from amity.core import customfield_services, tags
from amity.core.customfields import definitions
from amity.core.models import CustomFieldDefinition, CustomFieldType, Tag

router = Router()


class TagOut(Schema):
    name: str
    color: str


class TagIn(InputSchema):
    name: str
    color: str | None = Field(None, description="A colour name, e.g. slate, blue, green")


class CustomFieldOut(Schema):
    id: str
    object_type: str = Field(description="contact, company or deal")
    key: str = Field(description="Where the value lives in a record's `custom`, and the filter `custom.<key>`")
    label: str
    field_type: str = Field(json_schema_extra=enum_of(CustomFieldType.values))
    choices: list[str]
    required: bool
    show_in_list: bool = Field(description="Shown as a column on the list page")
    help_text: str
    position: int


class CustomFieldIn(InputSchema):
    object_type: str = Field(description="contact, company or deal")
    label: str
    field_type: str = Field(json_schema_extra=enum_of(CustomFieldType.values))
    choices: list[str] | None = Field(None, description="For choice and multi_choice fields")
    required: bool | None = None
    show_in_list: bool | None = None
    help_text: str | None = None
    position: int | None = None


class CustomFieldPatch(InputSchema):
    """The key and type of a field never change (stored values depend on them)."""

    label: str | None = None
    choices: list[str] | None = None
    required: bool | None = None
    show_in_list: bool | None = None
    help_text: str | None = None
    position: int | None = None


TagList = list_schema(TagOut, "TagList")
CustomFieldList = list_schema(CustomFieldOut, "CustomFieldList")


def tag_body(tag: Tag) -> dict[str, Any]:
    return {"name": tag.name, "color": tag.color}


def custom_field_body(definition: CustomFieldDefinition) -> dict[str, Any]:
    return {
        "id": str(definition.uuid), "object_type": definition.object_type, "key": definition.key,
        "label": definition.label, "field_type": definition.field_type, "choices": list(definition.choices or []),
        "required": definition.required,
        "show_in_list": definition.show_in_list, "help_text": definition.help_text, "position": definition.position,
    }


# --- tags -------------------------------------------------------------------------------------------------------

@router.get("/tags", response={200: TagList, **READ_ERRORS}, tags=["tags"], summary="List tags")
def list_tags(request: HttpRequest):
    return {"items": [tag_body(t) for t in tags.all_tags()]}


@router.post("/tags", response={201: TagOut, **WRITE_ERRORS}, tags=["tags"], summary="Create a tag",
             description="Tags are also created when a contact or company is tagged with a new name.")
def create_tag(request: HttpRequest, payload: TagIn):
    return created(tag_body(tags.create_tag(actor=request.user, name=payload.name, color=payload.color)))


@router.delete("/tags/{name}", response={204: None, **WRITE_ERRORS}, tags=["tags"], summary="Delete a tag",
               description="Removes the tag from every contact and company. Admins only.")
def delete_tag(request: HttpRequest, name: str):
    tags.delete_tag(actor=request.user, tag=tags.get_tag(name))
    return no_content()


# --- custom-field definitions -----------------------------------------------------------------------------------

@router.get("/custom-fields", response={200: CustomFieldList, **READ_ERRORS}, tags=["custom fields"],
            summary="List custom fields")
def list_custom_fields(request: HttpRequest,
                       object_type: str | None = Query(None, description="contact, company or deal; all if omitted")):
    if object_type is not None and object_type not in customfield_services.OBJECT_TYPES:
        raise ValidationError({"object_type": [_("Choose contact or company.")]})
    types = [object_type] if object_type else list(customfield_services.OBJECT_TYPES)
    return {"items": [custom_field_body(d) for t in types for d in definitions(t)]}


@router.post("/custom-fields", response={201: CustomFieldOut, **WRITE_ERRORS}, tags=["custom fields"],
             summary="Create a custom field", description="Admins only. The key is made from the label.")
def create_custom_field(request: HttpRequest, payload: CustomFieldIn):
    definition = customfield_services.create_definition(actor=request.user, data=payload.dict(exclude_unset=True))
    return created(custom_field_body(definition))


@router.get("/custom-fields/{id}", response={200: CustomFieldOut, **READ_ERRORS}, tags=["custom fields"],
            summary="Get a custom field")
def get_custom_field(request: HttpRequest, id: uuid.UUID):
    return custom_field_body(customfield_services.get_definition_or_404(id))


@router.patch("/custom-fields/{id}", response={200: CustomFieldOut, **WRITE_ERRORS}, tags=["custom fields"],
              summary="Update a custom field", description="Admins only. The key and type stay.")
def update_custom_field(request: HttpRequest, id: uuid.UUID, payload: CustomFieldPatch):
    definition = customfield_services.get_definition_or_404(id)
    definition = customfield_services.update_definition(actor=request.user, definition=definition,
                                                        data=payload.dict(exclude_unset=True))
    return custom_field_body(definition)


@router.delete("/custom-fields/{id}", response={204: None, **WRITE_ERRORS}, tags=["custom fields"],
               summary="Delete a custom field", description="Admins only. Stored values are kept.")
def delete_custom_field(request: HttpRequest, id: uuid.UUID):
    definition = customfield_services.get_definition_or_404(id)
    customfield_services.delete_definition(actor=request.user, definition=definition)
    return no_content()
