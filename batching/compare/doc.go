// Package compare measures the batching package against two popular Go
// dataloaders, github.com/vikstrous/dataloadgen and
// github.com/graph-gophers/dataloader/v7, on the same workloads. It is a
// module of its own so that xlbatch itself does not depend on them; run it
// with ./run.sh.
package compare
