# The infuse binary for production-like deployments (see docker-compose.yml).
# The first build compiles the Temporal server packages: expect minutes.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/infuse ./cmd/infuse

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/infuse /infuse
USER nonroot
ENTRYPOINT ["/infuse"]
