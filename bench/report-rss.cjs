// Preloaded (node --require) into a benchmarked process: reports its own peak RSS on stderr at exit.
process.on('exit', () => {
  process.stderr.write(`MAXRSS ${process.resourceUsage().maxRSS}\n`);
});
