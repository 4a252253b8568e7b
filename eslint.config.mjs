import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', process: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // A zod .regex() becomes a JSON Schema `pattern` in the OpenAPI document, which has no flags:
    // zod-to-openapi would print `/i` into it and every generated validator would then refuse
    // valid values. Spell case-insensitivity in the pattern ([A-Za-z]).
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='regex'] > Literal[regex.flags=/./]",
          message: 'No flags on a schema regex: it becomes an OpenAPI pattern, which has none. Write [A-Za-z] instead of /i.',
        },
      ],
    },
  },
);
