def log = new File(basedir, 'build.log').text
assert log.contains('add-third-party') : 'the licence check did not run'
assert log.contains('consumer.fixture:unlicensed-library:1') : 'the dependency without a licence is not named'
assert log.contains('no license') : 'the build did not fail on the missing licence'
