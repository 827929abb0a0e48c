{
  "targets": [
    {
      "target_name": "ioc_extract",
      "sources": ["extract.cc", "result-csv.cc"],
      "cflags_cc": ["-std=c++17", "-O2"]
    }
  ]
}
