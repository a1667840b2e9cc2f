module github.com/rawcraft/rawcraft

go 1.24
