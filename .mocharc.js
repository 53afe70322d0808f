// Mocha merges the spec of a config file with the files named on the command line, so a config
// spec would make `npx mocha test/x.test.ts` run the whole suite. The suite's spec applies only
// when no test file is named.
const named = process.argv.slice(2).some((a) => !a.startsWith('-') && /\.test\.ts$/.test(a));

module.exports = {
  require: ['tsx/cjs', 'test/helpers/database.ts'],
  extension: ['ts'],
  ...(named
    ? {}
    : {
        spec: [
          'test/unit/**/*.test.ts',
          'test/simulator/**/*.test.ts',
          'test/integration/**/*.test.ts',
          'test/surfaces/**/*.test.ts',
          'test/doctor/**/*.test.ts',
          'test/e2e/**/*.test.ts',
          'test/resilience/**/*.test.ts',
          'test/fuzz/**/*.test.ts',
          'test/package/**/*.test.ts',
        ],
      }),
  timeout: 20000,
  exit: true,
  parallel: true,
  jobs: 2,
};
