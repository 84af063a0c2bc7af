"""The page iterators ``iter_pages`` returns: :class:`Pages` (threads) and :class:`AsyncPages`.

They follow the cursor (:class:`~.protocol.PageCursor`) that the client's ``_pager`` set up,
restart from the first page on ``SYDB0050`` a bounded number of times, and say whether what was
read is whole (:attr:`Pages.truncated`); :meth:`Pages.collect` returns one consistent pass.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator

from .errors import KISAPIError, KISProtocolError, KISUsageError
from .protocol import KISResponse, PageCursor, PreparedRequest

__all__ = ["AsyncPages", "Pages"]


class _PagesState:
    """What the sync and async page iterators share: the cursor and what it says."""

    def __init__(
        self,
        first: PreparedRequest,
        page_request: Callable[[PageCursor], PreparedRequest],
        cursor: PageCursor,
    ) -> None:
        self._next_request: PreparedRequest | None = first
        self._page_request = page_request
        self.cursor = cursor
        self._handed_out = 0  # pages already given to the caller by iteration

    @property
    def truncated(self) -> bool:
        """True until KIS has marked a page as the last: after a ``break``, an error, or a
        reply that said "more" without a key to continue with, the pages read are a part."""
        return not self.cursor.complete

    @property
    def restarts(self) -> int:
        """How many times paging started again from the first page (``SYDB0050``)."""
        return self.cursor.restarts

    def _request(self) -> PreparedRequest:
        request, self._next_request = self._next_request, None
        return request if request is not None else self._page_request(self.cursor)

    def _retry_after(self, error: KISAPIError) -> bool:
        return self.cursor.restart(error)

    def _check_unread(self) -> None:
        # Pages handed out before collect() are not in its list: a list missing them would be
        # taken for the whole.
        if self._handed_out:
            raise KISUsageError(
                f"collect() returns every page from the first, but {self._handed_out} page(s) "
                "were already read from this iterator: call iter_pages again and collect() "
                "before reading any page"
            )

    def _incomplete(self) -> KISProtocolError:
        return KISProtocolError(
            f"paging stopped after {self.cursor.pages} page(s) without KIS marking the last "
            "(it said more follow but gave no new continuation key): the pages are a part only"
        )


class Pages(_PagesState, Iterator[KISResponse]):
    """The pages of one paged inquiry, fetched as you iterate (``KISRestClient.iter_pages``).

    ``list(pages)`` or ``for page in pages`` reads page after page. When KIS says the data
    changed between pages (``SYDB0050``) paging starts again from the first page: the next
    page yielded is the first again and :attr:`restarts` grows; rows taken from earlier pages
    are stale. :meth:`collect` handles that and returns the pages of one consistent pass, or
    raises. After iterating, :attr:`truncated` says whether the pages read are less than the
    whole (a ``break``, an error, a reply that said "more" without a key to go on with).
    """

    def __init__(
        self,
        send: Callable[[PreparedRequest], KISResponse],
        first: PreparedRequest,
        page_request: Callable[[PageCursor], PreparedRequest],
        cursor: PageCursor,
    ) -> None:
        super().__init__(first, page_request, cursor)
        self._send = send
        self._run = self._pages()

    def __iter__(self) -> Pages:
        return self

    def __next__(self) -> KISResponse:
        page = next(self._run)
        self._handed_out += 1
        return page

    def collect(self) -> list[KISResponse]:
        """Every page, of one consistent pass (pages from before a restart dropped); raises
        :class:`KISProtocolError` rather than return a part as the whole."""
        self._check_unread()
        pages: list[KISResponse] = []
        for page in self._run:
            if self.cursor.pages == 0:  # the first page, perhaps again after a restart
                pages.clear()
            pages.append(page)
        if self.truncated:
            raise self._incomplete()
        return pages

    def _pages(self) -> Iterator[KISResponse]:
        while True:
            try:
                page = self._send(self._request())
            except KISAPIError as error:
                if self._retry_after(error):
                    continue
                raise
            yield page
            if not self.cursor.advance(page):
                return


class AsyncPages(_PagesState, AsyncIterator[KISResponse]):
    """The pages of one paged inquiry for ``async for``; see :class:`Pages` (``collect`` is
    a coroutine here)."""

    def __init__(
        self,
        send: Callable[[PreparedRequest], Awaitable[KISResponse]],
        first: PreparedRequest,
        page_request: Callable[[PageCursor], PreparedRequest],
        cursor: PageCursor,
    ) -> None:
        super().__init__(first, page_request, cursor)
        self._send = send
        self._run = self._pages()

    def __aiter__(self) -> AsyncPages:
        return self

    async def __anext__(self) -> KISResponse:
        page = await self._run.__anext__()
        self._handed_out += 1
        return page

    async def aclose(self) -> None:
        """Stop paging (what ``async for`` does on ``break`` for an async generator)."""
        await self._run.aclose()

    async def collect(self) -> list[KISResponse]:
        """Every page, of one consistent pass; see :meth:`Pages.collect`."""
        self._check_unread()
        pages: list[KISResponse] = []
        async for page in self._run:
            if self.cursor.pages == 0:
                pages.clear()
            pages.append(page)
        if self.truncated:
            raise self._incomplete()
        return pages

    async def _pages(self) -> AsyncGenerator[KISResponse, None]:
        while True:
            try:
                page = await self._send(self._request())
            except KISAPIError as error:
                if self._retry_after(error):
                    continue
                raise
            yield page
            if not self.cursor.advance(page):
                return
