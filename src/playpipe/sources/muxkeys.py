"""The abbreviated keys of the Mux beacon format, expanded back to Mux's field names.

``mux-embed`` shortens every field name before sending: the first word of
``player_playhead_time`` becomes one letter (``p``), each next word two letters (``ph``,
``ti``), numbers stay digits, and a word it has no code for is sent as ``_word_``
(``pphti``, ``c1``, ``x_foo_``). A first word it does not know is sent whole with a
trailing ``_``. :func:`expand_key` undoes that; a key it cannot read is returned as ``None``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

_FIRST = (
    "a=env b=beacon c=custom d=ad e=event f=experiment i=internal m=mux n=response p=player "
    "q=request r=retry s=session t=timestamp u=viewer v=video w=page x=view y=sub"
)
_WORDS = (
    "ad=ad af=affiliate ag=aggregate ap=api al=application ao=audio ar=architecture as=asset "
    "au=autoplay av=average bi=bitrate bn=brand br=break bw=browser by=bytes bz=business "
    "ca=cached cb=cancel cc=codec cd=code cg=category ch=changed ci=client cj=channels "
    "ck=clicked cl=canceled cm=cmcd cn=config co=count ce=counter cp=complete cq=creator "
    "cr=creative cs=captions ct=content cu=current cv=cumulative cx=connection cz=context "
    "da=data dg=downscaling dm=domain dn=cdn do=downscale dr=drm dp=dropped du=duration "
    "dv=device dy=dynamic eb=enabled ec=encoding ed=edge en=end eg=engine em=embed er=error "
    "ep=experiments es=errorcode et=errortext ee=event ev=events ex=expires ez=exception "
    "fa=failed fi=first fm=family ft=format fp=fps fq=frequency fr=frame fs=fullscreen "
    "ha=has hb=holdback he=headers ho=host hn=hostname ht=height id=id ii=init in=instance "
    "ip=ip is=is ke=key la=language lb=labeled le=level li=live ld=loaded lo=load lw=low "
    "ls=lists lt=latency ma=max md=media me=message mf=manifest mi=mime ml=midroll mm=min "
    "mn=manufacturer mo=model mp=mode ms=ms mx=mux ne=newest nm=name no=number on=on "
    "or=origin os=os pa=paused pb=playback pd=producer pe=percentage pf=played pg=program "
    "ph=playhead pi=plugin pl=preroll pn=playing po=poster pp=pip pr=preload ps=position "
    "pt=part pv=previous py=property px=pop pz=plan ra=rate rd=requested re=rebuffer "
    "rf=rendition rg=range rm=remote ro=ratio rp=response rq=request rs=requests sa=sample "
    "sd=skipped se=session sh=shift si=sid sk=seek sm=stream so=source sq=sequence sr=series "
    "ss=status st=start su=startup sv=server sw=software sy=severity ta=tag tc=tech te=text "
    "tg=target th=throughput ti=time tl=total to=to tr=track tt=title ty=type ug=upscaling "
    "un=universal up=upscale ur=url us=user va=variant vd=viewed vi=video ve=version vw=view "
    "vr=viewer wd=width wa=watch wt=waiting"
)

FIRST_WORDS: Final = dict(pair.split("=") for pair in _FIRST.split())
"""One-letter code → first word of a field name."""
WORDS: Final = dict(pair.split("=") for pair in _WORDS.split())
"""Two-letter code → any later word."""

_TOKEN = re.compile(r"\d+|_[^_]*_|[a-z]{2}")
_UNKNOWN_FIRST = re.compile(r"([a-z][a-z0-9]*)_(.*)")


def _words(rest: str) -> list[str] | None:
    words: list[str] = []
    position = 0
    while position < len(rest):
        match = _TOKEN.match(rest, position)
        if match is None:
            return None
        token = match.group()
        if token[0] == "_":
            words.append(token[1:-1])
        elif token.isdigit():
            words.append(token)
        elif token in WORDS:
            words.append(WORDS[token])
        else:
            return None
        position = match.end()
    return words


@lru_cache(maxsize=4096)
def expand_key(key: str) -> str | None:
    """``pphti`` → ``player_playhead_time``; ``None`` when ``key`` is not a Mux key."""
    if not key:
        return None
    first = FIRST_WORDS.get(key[0])
    if first is not None:
        words = _words(key[1:])
        if words is not None:
            return "_".join([first, *words])
    unknown = _UNKNOWN_FIRST.fullmatch(key)
    if unknown:
        words = _words(unknown.group(2))
        if words is not None:
            return "_".join([unknown.group(1), *words])
    return None
