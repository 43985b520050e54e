module github.com/connmgr/connmgr

go 1.25
