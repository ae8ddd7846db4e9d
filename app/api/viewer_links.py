"""View-only links to one run: made, listed and revoked by the owner; who is asking, for the page.

The Guard keeps viewers out of these routes (a viewer cannot make, list or revoke links); the
checks here repeat it so that the route is right on its own.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import Field

from app.api.deps import RunsDep
from app.contract.base import Message
from app.contract.rest import Problem
from app.security.viewers import VIEW_PARAM, AccessDep, ViewerLink, ViewerLinksDep

router = APIRouter(tags=["viewers"])
OWNER_ONLY: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem, "description": "A view-only link cannot manage links"},
    404: {"model": Problem, "description": "No run (or no link of it) with that id"},
}


class LinkInfo(Message):
    id: str = Field(description="names the link in DELETE; not a secret")
    run_id: str
    created: float = Field(description="Unix seconds")
    open_sockets: int = Field(description="the link's websockets open now")


class NewLink(LinkInfo):
    url: str = Field(
        description="the page of the run, with the link's token: shown once, only its hash is kept"
    )


class Who(Message):
    role: Literal["owner", "viewer"]
    run_id: str | None = Field(description="a viewer: the one run its link opens; owner: null")


def _owner_only(access: AccessDep) -> None:
    if access.viewer:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a view-only link cannot manage links")


def _info(link: ViewerLink, links: ViewerLinksDep) -> LinkInfo:
    return LinkInfo(
        id=link.id,
        run_id=link.run_id,
        created=link.created,
        open_sockets=links.open_sockets(link.id),
    )


@router.post(
    "/api/runs/{run_id}/viewer-links",
    status_code=status.HTTP_201_CREATED,
    responses=OWNER_ONLY,
)
async def create_viewer_link(
    run_id: str, request: Request, runs: RunsDep, links: ViewerLinksDep, access: AccessDep
) -> NewLink:
    """A link that shows this run live, read-only, to whoever opens it, until it is revoked."""
    _owner_only(access)
    runs.info(run_id)  # 404 for an unknown run
    link, token = links.create(run_id)
    url = f"{request.base_url}?{VIEW_PARAM}={token}#run={run_id}"
    return NewLink(**_info(link, links).model_dump(), url=url)


@router.get("/api/runs/{run_id}/viewer-links", responses=OWNER_ONLY)
async def list_viewer_links(
    run_id: str, runs: RunsDep, links: ViewerLinksDep, access: AccessDep
) -> list[LinkInfo]:
    _owner_only(access)
    runs.info(run_id)
    return [_info(link, links) for link in links.of_run(run_id)]


@router.delete(
    "/api/runs/{run_id}/viewer-links/{link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=OWNER_ONLY,
)
async def revoke_viewer_link(
    run_id: str, link_id: str, links: ViewerLinksDep, access: AccessDep
) -> Response:
    """The link stops working at once: its requests are refused, its open websockets closed
    (code 4403)."""
    _owner_only(access)
    if not links.revoke(run_id, link_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id!r} has no link {link_id!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/access")
async def who_is_asking(access: AccessDep) -> Who:
    """owner, or viewer of one run: the page hides what a viewer cannot do."""
    if access.link is None:
        return Who(role="owner", run_id=None)
    return Who(role="viewer", run_id=access.link.run_id)
