"""Operations: health checks (`threadbot doctor`), structured logs, model storage, shutdown."""
