module github.com/lvskit/lvskit

go 1.26

require (
	github.com/gofrs/flock v0.8.1 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/google/renameio v1.0.1 // indirect
	github.com/haproxytech/config-parser/v5 v5.1.6 // indirect
	github.com/haproxytech/go-logger v1.1.0 // indirect
	golang.org/x/sys v0.15.0 // indirect
)
