"""`edgematte serve`: a local HTTP service over the still path (an optional extra: edgematte[serve]).

The stack is Starlette on uvicorn (pure-Python wheels: the same install on x86_64 and a Pi, no
compiler, ~4 MB, starts in well under a second). Requests are parsed on the event loop; every
photo goes to a fixed pool of loaded models (`pool.ModelPool`) on worker threads, through the
same Session stages as the CLI. Importing this package loads nothing heavy.

    app.py        the Starlette application: routes, keys, limits, metrics
    config.py     ServeConfig: every limit and default, with why
    body.py       reading a request body within a size and time limit; its fields and files
    params.py     remove.bg's parameters -> a CutoutRequest (and rembg's)
    layout.py     crop, scale, position and the contact shadow of a cut-out
    cutout.py     one request through the still path: decode, size, matte, layout, compose, encode
    fetch.py      image_url: public http(s) only, size-capped, pinned to the checked address
    pool.py       the fixed pool of models and the bounded queue (429 when full)
    metrics.py    Prometheus text: requests by status, latency histogram, queue depth, memory
    replies.py    remove.bg-shaped errors
    run.py        binding rules (loopback by default, keys required elsewhere) and uvicorn
    kiosk/        the kiosk page (static, offline)
"""
