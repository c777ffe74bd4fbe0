FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY credcore credcore
COPY issuer issuer
COPY verifier verifier
COPY puente puente
COPY schemas schemas
COPY wallet_web wallet_web
RUN pip install --no-cache-dir -e .
ENV PUENTE_ENV=production
CMD ["puente", "--help"]
