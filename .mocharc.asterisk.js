// The real-Asterisk level (`npm run test:asterisk`); see .mocharc.js for why the spec is conditional.
const named = process.argv.slice(2).some((a) => !a.startsWith('-') && /\.test\.ts$/.test(a));

module.exports = {
  require: ['tsx/cjs', 'test/helpers/database.ts', 'test/asterisk/global-setup.ts'],
  extension: ['ts'],
  ...(named ? {} : { spec: ['test/asterisk/**/*.test.ts'] }),
  timeout: 120000,
  exit: true,
  parallel: true,
  jobs: 3,
};
