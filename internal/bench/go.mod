module github.com/lvskit/lvskit/internal/bench

go 1.26.0

require (
	github.com/cloudflare/ipvs v0.12.0
	github.com/haproxytech/config-parser/v5 v5.1.6
	github.com/lvskit/lvskit v0.0.0
	github.com/moby/ipvs v1.1.0
)

require (
	github.com/gofrs/flock v0.8.1 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/google/renameio v1.0.1 // indirect
	github.com/haproxytech/go-logger v1.1.0 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/mdlayher/genetlink v1.4.0 // indirect
	github.com/mdlayher/netlink v1.11.2 // indirect
	github.com/mdlayher/socket v0.7.0 // indirect
	github.com/rogpeppe/go-internal v1.16.0 // indirect
	github.com/sirupsen/logrus v1.9.3 // indirect
	github.com/vishvananda/netlink v1.3.1 // indirect
	github.com/vishvananda/netns v0.0.5 // indirect
	golang.org/x/net v0.59.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/lvskit/lvskit => ../..
