module github.com/connmgr/connmgr/connvet

go 1.25

require (
	go.uber.org/goleak v1.3.0
	golang.org/x/tools v0.42.0
)

require (
	golang.org/x/mod v0.33.0 // indirect
	golang.org/x/sync v0.19.0 // indirect
)
