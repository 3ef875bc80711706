# Django classes the type stubs declare generic (ModelAdmin[Model], QuerySet[Model]…) are made
# subscriptable at run time too, before this app's modules subscript them.
import django_stubs_ext

django_stubs_ext.monkeypatch()
