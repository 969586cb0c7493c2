module github.com/lvskit/lvskit

go 1.26
