"""The live-class pages: /class (type a code), /class/new (a teacher opens a class),
/class/{code}/teach (the dashboard), /class/{code} (a student's phone) and the join QR code.

The pages are server-rendered shells; static/js/live.js drives them as a client of the JSON
API and the event stream, with the tokens as Bearer headers, never in cookies or the URL bar.
"""

from __future__ import annotations

import io
from typing import Annotated

import segno
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.live.classes import CODE_LENGTH, normalize_code
from app.live.model import MAX_NAME_CHARS
from app.sim import Config, Mode, Scenario
from app.sim.challenges import CHALLENGES
from app.web.infra import urls
from app.web.infra.deps import PagesDep
from app.web.infra.public_url import NO_PUBLIC_URL, PublicBaseDep
from app.web.live.api import Code
from app.web.live.deps import Classes, Client

router = APIRouter(tags=["pages"])

# Runs a teacher starts from: the story of the lessons, one click each.
STARTERS = tuple(
    (label, urls.sim_start(Config(scenario=scenario, mode=mode, n=n, interval=interval)))
    for label, scenario, mode, n, interval in (
        ("Two increments race (no lock)", Scenario.INC_INC, Mode.NONE, 2, None),
        ("Increment against decrement", Scenario.INC_DEC, Mode.NONE, 1, None),
        ("Two decrements free twice", Scenario.DEC_DEC, Mode.NONE, 1, None),
        ("One global lock", Scenario.INC_INC, Mode.GLOBAL_LOCK, 1, None),
        ("The GIL", Scenario.INC_INC, Mode.GIL, 2, 4),
    )
)


@router.get("/class", response_class=HTMLResponse, summary="Join a live class by its code")
def class_index(
    request: Request,
    pages: PagesDep,
    code: Annotated[str, Query(max_length=20, description="The class's join code")] = "",
) -> Response:
    if code.strip():
        return RedirectResponse(
            urls.live_class(normalize_code(code)[:CODE_LENGTH]), status_code=303
        )
    return pages.render(request, "live/index.html", {"code_length": CODE_LENGTH})


@router.get("/class/new", response_class=HTMLResponse, summary="Open a live class (teacher)")
def new_class_page(request: Request, pages: PagesDep) -> Response:
    return pages.render(request, "live/new.html", {})


@router.post("/class/new", summary="Open a live class and go to its dashboard (teacher)")
async def new_class(classes: Classes) -> Response:
    record, token = await classes.create()
    # The token rides in the fragment: browsers never send it to a server or in a Referer,
    # and the dashboard moves it out of the address bar at once (it is projected).
    return RedirectResponse(
        f"{urls.live_class_teach(record.code)}#token={token}", status_code=303
    )


@router.get(
    "/class/{code}/teach", response_class=HTMLResponse, summary="A live class's dashboard"
)
async def teach(
    request: Request,
    pages: PagesDep,
    code: Code,
    classes: Classes,
    client: Client,
    public: PublicBaseDep,
) -> Response:
    record = await classes.find(code, client=client)
    context = {
        "code": record.code, "join_url": public.link(urls.live_class(record.code)),
        "public": public, "teach_path": urls.live_class_teach(record.code),
        "join_path": urls.live_class(record.code), "starters": STARTERS, "challenges": CHALLENGES,
    }  # fmt: skip
    return pages.render(request, "live/teach.html", context)


@router.get(
    "/class/{code}/qr.svg",
    summary="The join link as a QR code (SVG)",
    responses={
        200: {"content": {"image/svg+xml": {}}},
        409: {"description": "No public address is known (set GILLAB_PUBLIC_URL)"},
    },
)
async def join_qr(
    code: Code, classes: Classes, client: Client, public: PublicBaseDep
) -> Response:
    record = await classes.find(code, client=client)
    join_url = public.link(urls.live_class(record.code))
    if join_url is None:  # never a code for an address the request made up
        raise HTTPException(409, NO_PUBLIC_URL)
    qr = segno.make(join_url, error="m")
    svg = io.BytesIO()
    qr.save(svg, kind="svg", scale=10, border=2, xmldecl=False, title=f"Join class {record.code}")
    return Response(svg.getvalue(), media_type="image/svg+xml")


@router.get("/class/{code}", response_class=HTMLResponse, summary="A student's live class")
async def student(
    request: Request, pages: PagesDep, code: Code, classes: Classes, client: Client
) -> Response:
    record = await classes.find(code, client=client)
    if record.code != code:  # typed in lower case or with spaces: the canonical address
        return RedirectResponse(urls.live_class(record.code), status_code=303)
    context = {"code": record.code, "max_name": MAX_NAME_CHARS}
    return pages.render(request, "live/student.html", context)
