"""``amity commerce_facts --rebuild [--contact UUID]``: recompute customer facts from the orders (a repair tool;
facts are normally kept current incrementally)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from amity.commerce.facts import recompute
from amity.commerce.models import Order
from amity.contacts.models import Contact


class Command(BaseCommand):
    help = "Recompute customer facts (orders, total spent, favourites) from the stored orders."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--rebuild", action="store_true", help="Rebuild every customer with orders or facts.")
        parser.add_argument("--contact", help="Only this contact (its id).")

    def handle(self, *args: Any, rebuild: bool, contact: str | None, **options: Any) -> None:
        from django.db import transaction

        if contact:
            ids = list(Contact.objects.filter(uuid=contact).values_list("pk", flat=True))
            if not ids:
                raise CommandError(f"There is no contact {contact}.")
        elif rebuild:
            with_orders = set(Order.objects.filter(contact__isnull=False).values_list("contact_id", flat=True)
                              .distinct())
            with_facts = set(Contact.objects.filter(Q(order_count__gt=0) | ~Q(lifetime_value=0))
                             .values_list("pk", flat=True))
            ids = sorted(with_orders | with_facts)  # type: ignore[arg-type]
        else:
            raise CommandError("Say what to rebuild: --rebuild (everyone) or --contact <id>.")
        for start in range(0, len(ids), 500):
            with transaction.atomic():
                for pk in ids[start:start + 500]:
                    recompute(pk)
        noun = "customer" if len(ids) == 1 else "customers"
        self.stdout.write(f"Rebuilt the facts of {len(ids)} {noun}.")
