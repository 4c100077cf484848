// One temporary directory for the whole run (placeholder assets, cloud assemblies), removed
// at the end by global-teardown.js. Workers inherit the variable.
const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async () => {
  process.env.COPYFLOW_CDK_TEST_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'copyflow-cdk-test-'));
};
