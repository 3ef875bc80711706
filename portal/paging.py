from django.core.paginator import Paginator


class TwoEndedPaginator(Paginator):
    """Serves pages past the middle by reading the reversed ordering from its start.

    OFFSET makes the database walk every skipped row: the last of 4,000 pages walked 100,000
    index entries and joined each. Reversed, the last page is the first rows of an index scan
    the other way. Needs a total ordering (TicketOrdering and Ticket.Meta end on the id).
    """

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom <= self.count // 2 or not self.object_list.ordered:
            return super().page(number)
        rows = list(self.object_list.reverse()[self.count - top : self.count - bottom])
        rows.reverse()
        return self._get_page(rows, number, self)
