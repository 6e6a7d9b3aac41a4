# doithoai: the bot (`run`, `run --webhook`), the board (`web`) and every command, in one image.
# Build: docker build -t doithoai .   Run: see compose.yaml and the README ("Deployment").
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/opt/doithoai/matplotlib

WORKDIR /opt/doithoai/src
# The pinned versions CI tests (constraints.txt): the image runs what was tested. Every wheel
# is prebuilt for this platform, so no compiler is needed; pip compiles the bytecode here.
COPY pyproject.toml constraints.txt README.md ./
COPY bot bot
COPY handlers handlers
COPY storage storage
COPY locales locales
RUN pip install -c constraints.txt . \
    # matplotlib's font cache, built now rather than at the first chart of a running service
    && python -c "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot" \
    # the catalogs compiled now (the image's package folder is read-only to its user)
    && python -c "from bot.core.i18n import SUPPORTED, translations; [translations(l) for l in SUPPORTED]" \
    && useradd --system --uid 10001 --home-dir /data --create-home doithoai \
    && chmod -R a+rX /opt/doithoai

# Not root. /data is the working directory: a SQLite database (the default URL) lives there.
USER doithoai
WORKDIR /data
VOLUME ["/data"]
ENV DOITHOAI_HOST=0.0.0.0 \
    DOITHOAI_PORT=8080
EXPOSE 8080

ENTRYPOINT ["doithoai"]
CMD ["run", "--webhook"]
