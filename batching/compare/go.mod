module github.com/xlbatch/xlbatch/batching/compare

go 1.26.0

require (
	github.com/graph-gophers/dataloader/v7 v7.2.0
	github.com/vikstrous/dataloadgen v0.0.9
	github.com/xlbatch/xlbatch v0.0.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/rs/zerolog v1.35.1 // indirect
	go.opentelemetry.io/otel v1.43.0 // indirect
	go.opentelemetry.io/otel/trace v1.43.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/xlbatch/xlbatch => ../..
