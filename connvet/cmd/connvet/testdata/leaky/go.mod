module example.com/leaky

go 1.25

require github.com/connmgr/connmgr v0.0.0

replace github.com/connmgr/connmgr => ./connmgr
