from ninja import Router

router = Router(tags=["vCard-iCalendar"])
